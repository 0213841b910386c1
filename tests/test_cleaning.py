"""Each cleaning rule on small fixtures, including the edge cases of rule order, and the
full cleaning in parts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipeline.cleaning import ALL_RULES, build_staging, rebuild_staging
from pipeline.cleaning_parts import ROWS_PER_GIB, cleaning_parts, rows_per_part
from pipeline.cleaning_state import RuleSettings
from pipeline.ingest import ensure_raw_schema
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES

NOW = dt.datetime(2012, 1, 1)
TS = dt.datetime(2011, 6, 1, 10, 30)


def line(row: int, **overrides) -> dict:
    values = {
        "invoice_id": "536365",
        "stock_code": "85123A",
        "description": "WHITE HANGING HEART",
        "quantity": 6.0,
        "invoice_ts": TS,
        "unit_price": 2.55,
        "customer_id": "17850",
        "country": "United Kingdom",
        "source_row": row,
    }
    values.update(overrides)
    if "line_amount" not in values:
        quantity, price = values["quantity"], values["unit_price"]
        values["line_amount"] = quantity * price if quantity is not None else None
    return values


def clean(connection, rows: list[dict]):
    ensure_raw_schema(connection)
    for values in rows:
        connection.execute(
            """
            INSERT INTO raw.transactions VALUES ($invoice_id, $stock_code, $description,
                $quantity, $invoice_ts, $unit_price, $customer_id, $country, $line_amount,
                'fixture.csv', NULL, $source_row, TIMESTAMP '2012-01-01')
            """,
            values,
        )
    return build_staging(
        connection, non_product_codes=DEFAULT_NON_PRODUCT_CODES, latest_valid_ts=NOW
    )


def destination(connection, row: int) -> str:
    """Where a fixture row ended up: 'transactions', 'returns' or the exclusion rule."""
    found = connection.execute(
        """
        SELECT 'transactions' FROM staging.transactions WHERE source_row = $r
        UNION ALL SELECT 'returns' FROM staging.returns WHERE source_row = $r
        UNION ALL SELECT rule FROM staging.excluded WHERE source_row = $r
        """,
        {"r": row},
    ).fetchall()
    assert len(found) == 1, f"row {row} is in {found}"
    return found[0][0]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "transactions"),
        ({"customer_id": None}, "missing_customer"),
        # Rule order: a cancellation without a customer is dropped as missing_customer.
        ({"customer_id": None, "invoice_id": "C536379", "quantity": -1.0}, "missing_customer"),
        ({"invoice_id": "C536379", "quantity": -6.0}, "returns"),
        ({"invoice_id": "c536379", "quantity": -6.0}, "returns"),
        # The C prefix alone marks a cancellation, in either case; other letters do not.
        ({"invoice_id": "C536379", "quantity": 6.0}, "returns"),
        ({"invoice_id": "c536379", "quantity": 6.0}, "returns"),
        ({"invoice_id": "\u00c7536379", "quantity": 6.0}, "transactions"),
        ({"invoice_id": "A536379", "quantity": 6.0}, "transactions"),
        ({"invoice_id": "536380", "quantity": -2.0}, "returns"),
        ({"unit_price": 0.0}, "non_positive_price"),
        ({"stock_code": "B", "unit_price": -11062.06}, "non_positive_price"),
        ({"stock_code": "POST", "unit_price": 18.0}, "non_product_code"),
        ({"stock_code": "BANK CHARGES", "unit_price": 15.0}, "non_product_code"),
        ({"stock_code": "AMAZONFEE", "unit_price": 5.0}, "non_product_code"),
        ({"stock_code": "POSTER01"}, "transactions"),
        ({"invoice_ts": NOW + dt.timedelta(days=3)}, "future_date"),
        ({"invoice_ts": NOW - dt.timedelta(minutes=1)}, "transactions"),
        # Amount-only layouts: the sign and size of line_amount decide.
        ({"quantity": None, "unit_price": None, "line_amount": -5.0}, "returns"),
        ({"quantity": None, "unit_price": None, "line_amount": 0.0}, "non_positive_price"),
        ({"quantity": None, "unit_price": None, "line_amount": 9.99}, "transactions"),
        ({"invoice_id": None, "stock_code": None, "description": None}, "transactions"),
    ],
)
def test_each_rule_sends_a_row_where_it_belongs(connection, overrides, expected):
    clean(connection, [line(1, **overrides)])
    assert destination(connection, 1) == expected


def test_duplicates_keep_the_first_copy_in_file_order(connection):
    counts = clean(
        connection,
        [
            line(7),
            line(3),
            line(9),
            line(4, quantity=7.0),  # differs in one field: not a duplicate
            line(5, description=None),
            line(6, description=None),  # nulls compare equal for duplicates
        ],
    )
    assert destination(connection, 3) == "transactions"
    assert destination(connection, 7) == "duplicate_line"
    assert destination(connection, 9) == "duplicate_line"
    assert destination(connection, 4) == "transactions"
    assert destination(connection, 5) == "transactions"
    assert destination(connection, 6) == "duplicate_line"
    assert counts.excluded_by_rule == {"duplicate_line": 3}


def test_duplicated_cancellations_stay_returns(connection):
    cancelled = {"invoice_id": "C1", "quantity": -1.0}
    clean(connection, [line(1, **cancelled), line(2, **cancelled)])
    assert destination(connection, 1) == destination(connection, 2) == "returns"


def test_every_raw_row_lands_in_exactly_one_table(connection):
    rows = [
        line(1),
        line(2),
        line(3, customer_id=None),
        line(4, invoice_id="C9", quantity=-1.0),
        line(5, unit_price=0.0),
        line(6, stock_code="POST"),
        line(7, invoice_ts=NOW + dt.timedelta(days=30)),
    ]
    counts = clean(connection, rows)
    assert counts.transactions + counts.returns + counts.excluded == len(rows)
    assert counts.transactions == 1  # row 2 duplicates row 1
    assert counts.returns == 1
    assert set(counts.excluded_by_rule) == {
        "missing_customer",
        "non_positive_price",
        "non_product_code",
        "future_date",
        "duplicate_line",
    }


def test_rebuilding_staging_is_idempotent(connection):
    first = clean(connection, [line(1), line(2, customer_id=None)])
    second = build_staging(
        connection, non_product_codes=DEFAULT_NON_PRODUCT_CODES, latest_valid_ts=NOW
    )
    assert first == second


def test_uci_rule_order_reproduces_the_published_funnel(connection):
    """UCI's funnel: drop missing customers, then C-invoices, then non-positive prices."""
    rows = (
        [line(i) for i in range(1, 11)]
        + [line(i, customer_id=None) for i in range(11, 14)]
        + [line(i, invoice_id=f"C{i}", quantity=-1.0) for i in range(14, 16)]
        + [line(i, unit_price=0.0, invoice_id=f"X{i}") for i in range(16, 17)]
    )
    # Make the ten valid lines distinct so the duplicate rule does not fire.
    for i, values in enumerate(rows[:10]):
        values["invoice_id"] = f"5{i}"
    counts = clean(connection, rows)
    with_customer = len(rows) - counts.excluded_by_rule["missing_customer"]
    after_cancellations = with_customer - counts.returns
    after_prices = after_cancellations - counts.excluded_by_rule["non_positive_price"]
    assert (with_customer, after_cancellations, after_prices) == (13, 11, 10)
    assert counts.transactions == after_prices


def test_rules_are_named_and_documented():
    names = [rule.name for rule in ALL_RULES]
    assert len(names) == len(set(names))
    assert all(
        rule.description and rule.destination in {"excluded", "returns"} for rule in ALL_RULES
    )


def test_cleaning_in_parts_gives_the_tables_of_one_part(connection):
    """Parts by day and by file (pipeline.cleaning_parts) give the same rows in the
    same order as one part: copies across files on one day, copies of an earlier line in a
    later file, returns, exclusions spread over the parts."""
    ensure_raw_schema(connection)
    rows = []
    for number in range(240):
        day = dt.datetime(2011, 1, 1) + dt.timedelta(days=number % 12, hours=number % 7)
        values = line(
            number,
            invoice_id=f"C{number}" if number % 17 == 0 else f"5{number % 90}",
            invoice_ts=day,
            customer_id=None if number % 13 == 0 else str(17000 + number % 9),
            quantity=-1.0 if number % 17 == 0 else float(1 + number % 3),
        )
        rows.append((values, f"part-{number % 4}.csv"))
    # Copies of line 5 (a purchase) in a later file on its day, and of line 7 in an earlier one.
    rows.append(({**rows[5][0], "source_row": 1000}, "part-9.csv"))
    rows.append(({**rows[7][0], "source_row": 1001}, "part-0.csv"))
    for values, file in rows:
        connection.execute(
            """
            INSERT INTO raw.transactions VALUES ($invoice_id, $stock_code, $description,
                $quantity, $invoice_ts, $unit_price, $customer_id, $country, $line_amount,
                $file, NULL, $source_row, TIMESTAMP '2012-01-01')
            """,
            {**values, "file": file},
        )
    settings = RuleSettings(DEFAULT_NON_PRODUCT_CODES, NOW, 0)
    tables = ("staging.transactions", "staging.returns", "staging.excluded")

    def built(part_rows):
        rebuild_staging(connection, settings, part_rows=part_rows)
        return {
            t: connection.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables
        }

    whole = built(None)
    parts = cleaning_parts(connection, 50)
    assert len(parts.by_time) >= 4 and len(parts.by_file) >= 4
    assert built(50) == whole
    assert sum(len(table) for table in whole.values()) == len(rows)
    excluded = whole["staging.excluded"]
    assert sum(1 for row in excluded if row[-1] == "duplicate_line") >= 2


@pytest.mark.parametrize(
    ("limit", "gib"), [("4GB", 4e9 / 2**30), ("2GiB", 2.0), ("500MB", 500e6 / 2**30)]
)
def test_the_parts_of_a_full_cleaning_are_sized_by_the_memory_limit(limit, gib):
    # DuckDB reports its limit rounded to a tenth of its unit ("3.7 GiB").
    assert rows_per_part(duckdb.connect(config={"memory_limit": limit})) == pytest.approx(
        gib * ROWS_PER_GIB, rel=0.02
    )
    # Under a small limit a part still holds a million rows.
    assert rows_per_part(duckdb.connect(config={"memory_limit": "100MB"})) == 1_000_000
