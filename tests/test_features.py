"""features.customer_rfm on tiny staging tables: quintile edge cases, ties, the snapshot date."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.catalog import TABLES
from pipeline.features import build_customer_rfm

AS_OF = dt.datetime(2011, 12, 10)
COLUMNS = [c.name for c in TABLES["staging.transactions"].columns]


def make_staging(connection, purchases: list[dict], returns: list[dict] = ()) -> None:
    """staging.transactions and staging.returns with the catalog's columns; each row needs
    customer_id, invoice_ts and line_amount, the rest defaults to a plausible line."""
    connection.execute("CREATE SCHEMA IF NOT EXISTS staging")
    for table, rows in (("transactions", purchases), ("returns", returns)):
        definition = ", ".join(f"{c.name} {c.type}" for c in TABLES[f"staging.{table}"].columns)
        connection.execute(f"CREATE OR REPLACE TABLE staging.{table} ({definition})")
        for number, row in enumerate(rows, start=2):
            values = {
                "invoice_id": f"{table[0]}{number}",
                "stock_code": "85123A",
                "description": "WHITE HANGING HEART",
                "quantity": 1.0,
                "unit_price": row["line_amount"],
                "country": "United Kingdom",
                "source_file": "fixture.csv",
                "source_sheet": None,
                "source_row": number,
                **row,
            }
            placeholders = ", ".join(f"${c}" for c in COLUMNS)
            connection.execute(
                f"INSERT INTO staging.{table} VALUES ({placeholders})",
                {c: values.get(c) for c in COLUMNS},
            )


def purchase(customer: str, days_before: float, amount: float = 10.0, **extra) -> dict:
    return {
        "customer_id": customer,
        "invoice_ts": AS_OF - dt.timedelta(days=days_before),
        "line_amount": amount,
        **extra,
    }


def scores(connection) -> dict[str, tuple[int, int, int]]:
    rows = connection.execute(
        "SELECT customer_id, r_score, f_score, m_score FROM features.customer_rfm"
    ).fetchall()
    return {customer: (r, f, m) for customer, r, f, m in rows}


def test_a_single_customer_gets_one_row_with_its_measures(connection):
    make_staging(connection, [purchase("A", 3, 20.0), purchase("A", 30, 5.0)])
    assert build_customer_rfm(connection, AS_OF) == 1
    row = connection.execute(
        "SELECT recency_days, frequency, monetary, tenure_days, rfm_segment "
        "FROM features.customer_rfm"
    ).fetchone()
    assert row[:4] == (3, 2, 25.0, 30)
    # ntile over one row puts it in the first tile: a lone customer scores 1-1-1, however
    # recent (see the note in the report on scores with fewer than five customers).
    assert scores(connection) == {"A": (1, 1, 1)}
    assert row[4] == "Hibernating"


def test_fewer_customers_than_quintiles_take_the_lowest_scores_in_order(connection):
    make_staging(
        connection,
        [purchase("A", 100, 10.0), purchase("B", 10, 50.0), purchase("C", 1, 30.0)],
    )
    build_customer_rfm(connection, AS_OF)
    r = {customer: s[0] for customer, s in scores(connection).items()}
    m = {customer: s[2] for customer, s in scores(connection).items()}
    assert r == {"A": 1, "B": 2, "C": 3}  # the most recent buyer scores highest
    assert m == {"A": 1, "C": 2, "B": 3}


def test_five_customers_fill_every_quintile_once(connection):
    recencies = zip("ABCDE", [50, 40, 30, 20, 10], strict=True)
    make_staging(connection, [purchase(c, d) for c, d in recencies])
    build_customer_rfm(connection, AS_OF)
    assert sorted(s[0] for s in scores(connection).values()) == [1, 2, 3, 4, 5]
    assert scores(connection)["E"][0] == 5


def test_ties_are_broken_deterministically_into_equal_groups(connection):
    # Ten identical customers: the quintiles still hold two each, in customer_id order.
    customers = [f"C{i:02d}" for i in range(10)]
    make_staging(connection, [purchase(c, 7, 10.0) for c in reversed(customers)])
    build_customer_rfm(connection, AS_OF)
    first = scores(connection)
    assert [first[c][0] for c in customers] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [first[c][2] for c in customers] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # The same data in another insertion order gives the same scores.
    make_staging(connection, [purchase(c, 7, 10.0) for c in customers])
    build_customer_rfm(connection, AS_OF)
    assert scores(connection) == first


def test_equal_spend_summed_in_another_order_ties_and_the_id_decides(connection):
    """0.1 + 0.2 is 0.30000000000000004 in floating point: the same net spend summed from
    other lines (or by threads in another order) must still tie, so the customer id decides
    the quintile and the scores do not move between runs. Sums are exact, so they do."""
    make_staging(
        connection,
        [
            purchase("A", 7, 0.1, invoice_id="A1"),
            purchase("A", 7, 0.2, invoice_id="A1"),
            purchase("B", 7, 0.3, invoice_id="B1"),
            *(purchase(c, 7, 100.0 * (i + 1), invoice_id=f"{c}1") for i, c in enumerate("CDE")),
        ],
    )
    build_customer_rfm(connection, AS_OF)
    monetary = dict(
        connection.execute("SELECT customer_id, monetary FROM features.customer_rfm").fetchall()
    )
    assert monetary["A"] == monetary["B"] == 0.3  # not 0.30000000000000004
    m = {customer: s[2] for customer, s in scores(connection).items()}
    f = {customer: s[1] for customer, s in scores(connection).items()}
    assert (m["A"], m["B"]) == (1, 2)
    assert (f["A"], f["B"]) == (1, 2)


def test_a_recency_tie_is_broken_by_frequency(connection):
    make_staging(
        connection,
        [
            purchase("A", 5),
            purchase("B", 5),
            purchase("B", 40, invoice_id="B-older"),
            purchase("C", 90),
            purchase("D", 120),
            purchase("E", 150),
        ],
    )
    build_customer_rfm(connection, AS_OF)
    r = {customer: s[0] for customer, s in scores(connection).items()}
    assert r["B"] > r["A"] > r["C"]


def test_only_purchases_before_the_snapshot_count_and_returns_net_off(connection):
    make_staging(
        connection,
        [
            purchase("A", 10, 100.0),
            purchase("A", -1, 999.0),  # after the snapshot: ignored
            purchase("B", 20, 40.0),
        ],
        returns=[purchase("A", 5, -30.0, quantity=-1.0)],
    )
    build_customer_rfm(connection, AS_OF)
    rows = {
        customer: rest
        for customer, *rest in connection.execute(
            "SELECT customer_id, recency_days, frequency, monetary, return_rate "
            "FROM features.customer_rfm"
        ).fetchall()
    }
    assert rows["A"] == [10, 1, 70.0, 0.3]
    assert rows["B"][:3] == [20, 1, 40.0]


def test_without_product_columns_rfm_is_still_computed(connection):
    make_staging(
        connection,
        [
            purchase(c, d, a, stock_code=None, description=None, quantity=None, unit_price=None)
            for c, d, a in [("A", 3, 10.0), ("A", 20, 15.0), ("B", 60, 5.0), ("C", 9, 80.0)]
        ],
    )
    assert build_customer_rfm(connection, AS_OF) == 3
    row = connection.execute(
        "SELECT frequency, monetary, distinct_products, avg_units_per_line, r_score, rfm_segment "
        "FROM features.customer_rfm WHERE customer_id = 'A'"
    ).fetchone()
    assert row[:4] == (2, 25.0, None, None)
    assert row[4] in {1, 2, 3} and row[5] is not None


@pytest.mark.parametrize("n_customers", [4, 6, 11, 23])
def test_quintile_sizes_differ_by_at_most_one(connection, n_customers):
    make_staging(connection, [purchase(f"K{i:03d}", i + 1, 10.0 + i) for i in range(n_customers)])
    build_customer_rfm(connection, AS_OF)
    for column in ("r_score", "f_score", "m_score"):
        sizes = [
            n
            for (n,) in connection.execute(
                f"SELECT count(*) FROM features.customer_rfm GROUP BY {column}"
            ).fetchall()
        ]
        assert max(sizes) - min(sizes) <= 1
        assert len(sizes) == min(n_customers, 5)


def test_a_country_tie_goes_to_the_first_alphabetically_whatever_the_line_order(connection):
    """mode() returns whichever tied value its threads meet first; the country must not
    flip between refreshes of the same lines."""
    lines = [
        purchase("A", day, country=country)
        for day, country in enumerate(["United Kingdom", "Spain"] * 3 + ["France"], start=1)
    ]
    for ordered in (lines, lines[::-1]):
        make_staging(connection, ordered)
        build_customer_rfm(connection, AS_OF)
        assert connection.execute("SELECT country FROM features.customer_rfm").fetchall() == [
            ("Spain",)
        ]
    make_staging(connection, [purchase("B", 1, country=None), purchase("B", 2, country="Peru")])
    build_customer_rfm(connection, AS_OF)
    assert connection.execute("SELECT country FROM features.customer_rfm").fetchall() == [("Peru",)]
