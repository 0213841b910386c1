"""The training windows computed in one pass over the lines against the features of each
date computed alone (customer_features: the SQL of features.customer_rfm, which the Spark
engine transpiles), column by column and bit for bit, and the outcomes and category columns
against a plain pandas computation of each window, on a hand-made history with the edge
cases and on demo data."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.cleaning import build_staging
from pipeline.features import (
    build_customer_rfm,
    customer_features,
    customer_features_at,
    ensure_product_categories_table,
)
from pipeline.features.customer_rfm import one_pass_features
from pipeline.ingest import ensure_raw_schema
from pipeline.modelling.trading_clock import daily_orders
from pipeline.modelling.training_frames import (
    add_trading_columns,
    bought_column,
    season_column,
    share_column,
    window_frame,
    window_frames,
)
from pipeline.modelling.window_queries import (
    BOUGHT_AT_TIME,
    WindowRows,
    category_parameters,
    category_select,
)
from pipeline.product_categories import OTHER
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES
from tests.test_models import build_demo_warehouse

CUTOFFS = [
    dt.datetime(2011, 3, 1),
    dt.datetime(2011, 4, 1),
    dt.datetime(2011, 4, 15, 12, 0),  # not a midnight: lines that day fall on both sides
    dt.datetime(2011, 5, 1),
    dt.datetime(2011, 6, 1),
]
CATEGORIES = {"85123A": "HOME", "22423": "HOME", "84029E": "KITCHEN", "21730": OTHER}


def _line(row: int, customer: str | None, ts: dt.datetime, **overrides) -> dict:
    values = {
        "invoice_id": f"5{row:05d}",
        "stock_code": "85123A",
        "description": "WHITE HANGING HEART",
        "quantity": 6.0,
        "invoice_ts": ts,
        "unit_price": 2.55,
        "customer_id": customer,
        "country": "United Kingdom",
        "source_row": row,
    }
    values.update(overrides)
    values.setdefault("line_amount", values["quantity"] * values["unit_price"])
    return values


def _history() -> list[dict]:
    """Lines with the edge cases: one-order customers, returns, an invoice across a cutoff,
    customers first seen after a cutoff, guests, lines on both sides of an intra-day cutoff,
    ties, products without a category, fractional units and invoices without a number."""
    day = dt.datetime
    lines = [
        # A: one order of three lines before the first cutoff.
        _line(2, "A", day(2011, 2, 3, 10), invoice_id="500001"),
        _line(3, "A", day(2011, 2, 3, 10), invoice_id="500001", stock_code="22423"),
        _line(4, "A", day(2011, 2, 3, 10), invoice_id="500001", stock_code="99999", quantity=2.5),
        # B: an order in every month, two countries tied, a return, repeated products.
        *[
            _line(10 + m, "B", day(2011, m, 5 + m, 9, 30), unit_price=1.0 + m,
                  stock_code=("85123A", "84029E", "21730")[m % 3],
                  country="France" if m % 2 else "Germany")
            for m in range(1, 7)
        ],
        _line(20, "B", day(2011, 3, 20, 12), invoice_id="C500020", quantity=-2.0),
        # C: first seen after the April cutoffs, two orders at the same time.
        _line(30, "C", day(2011, 4, 20, 8), invoice_id="500030"),
        _line(31, "C", day(2011, 4, 20, 8), invoice_id="500031", quantity=1.0, unit_price=7.0),
        _line(32, "C", day(2011, 5, 25, 8), invoice_id="500032", stock_code="84029E"),
        # D: one invoice whose lines lie on both sides of the 1 April cutoff.
        _line(40, "D", day(2011, 3, 31, 23, 50), invoice_id="500040"),
        _line(41, "D", day(2011, 4, 1, 0, 10), invoice_id="500040", quantity=3.0),
        _line(42, "D", day(2011, 1, 10, 9), invoice_id="500042", unit_price=4.0),
        # E: lines on 15 April before and after noon (the intra-day cutoff).
        _line(50, "E", day(2011, 4, 15, 9), invoice_id="500050"),
        _line(51, "E", day(2011, 4, 15, 12, 0), invoice_id="500051", unit_price=3.0),
        _line(52, "E", day(2011, 4, 15, 18), invoice_id="500052", quantity=12.0),
        # F: invoices without a number (one order per timestamp); returns only, for G.
        _line(60, "F", day(2011, 2, 14, 11), invoice_id=None),
        _line(61, "F", day(2011, 2, 14, 11), invoice_id=None, stock_code="22423"),
        _line(62, "F", day(2011, 5, 2, 16, 45), invoice_id=None, quantity=1.0),
        _line(70, "G", day(2011, 2, 20, 10), invoice_id="C500070", quantity=-1.0),
        # Guests: no customer id, so no customer features (excluded by the cleaning).
        _line(80, None, day(2011, 2, 1, 10)),
        _line(81, None, day(2011, 4, 30, 10)),
        # Outcomes after the last cutoff, and a return in a window.
        _line(90, "A", day(2011, 6, 10, 10), invoice_id="500090", stock_code="84029E"),
        _line(91, "C", day(2011, 6, 12, 10), invoice_id="C500091", quantity=-1.0),
    ]  # fmt: skip
    return lines


def load_history(connection):
    """The hand-made history in staging, with its product categories."""
    ensure_raw_schema(connection)
    for values in _history():
        connection.execute(
            """
            INSERT INTO raw.transactions VALUES ($invoice_id, $stock_code, $description,
                $quantity, $invoice_ts, $unit_price, $customer_id, $country, $line_amount,
                'fixture.csv', NULL, $source_row, TIMESTAMP '2012-01-01')
            """,
            values,
        )
    build_staging(
        connection,
        non_product_codes=DEFAULT_NON_PRODUCT_CODES,
        latest_valid_ts=dt.datetime(2012, 1, 1),
    )
    ensure_product_categories_table(connection)
    for code, category in CATEGORIES.items():
        connection.execute(
            "INSERT INTO features.product_categories (stock_code, category) VALUES ($c, $k)",
            {"c": code, "k": category},
        )
    return connection


@pytest.fixture
def history(connection):
    return load_history(connection)


def assert_features_match_reference(connection, cutoffs) -> int:
    """Every cutoff's rows of the one pass equal the features computed for that date alone
    (customer_features), column by column and bit for bit; returns the rows compared."""
    one_pass = one_pass_features(connection, cutoffs)
    assert list(one_pass["as_of"].drop_duplicates()) == sorted(cutoffs)
    compared = 0
    for as_of in cutoffs:
        expected = customer_features(connection, as_of)
        got = one_pass.loc[one_pass["as_of"] == as_of].reset_index(drop=True)
        assert list(got.columns) == list(expected.columns)
        for column in expected.columns:
            pd.testing.assert_series_equal(
                got[column], expected[column], check_exact=True, obj=f"{column} as of {as_of}"
            )
        compared += len(expected)
    return compared


def test_every_cutoff_of_the_one_pass_equals_its_own_query(history):
    assert assert_features_match_reference(history, CUTOFFS) == 4 + 4 + 5 + 6 + 6
    features = customer_features_at(history, CUTOFFS).set_index(["as_of", "customer_id"])
    # The edge cases are really there: C only after its first order, no guest, no G (returns
    # only), D's split invoice one order whose value grows at the cutoff inside it.
    assert "C" not in features.loc[CUTOFFS[2]].index
    assert "C" in features.loc[CUTOFFS[3]].index
    assert "G" not in features.index.get_level_values("customer_id")
    d_april, d_may = features.loc[(CUTOFFS[1], "D")], features.loc[(CUTOFFS[3], "D")]
    assert d_april["frequency"] == d_may["frequency"] == 2
    assert d_may["avg_order_value"] > d_april["avg_order_value"]
    # E's lines of 15 April count before the noon cutoff only until noon.
    assert features.loc[(CUTOFFS[2], "E"), "purchase_lines"] == 1
    assert features.loc[(CUTOFFS[3], "E"), "purchase_lines"] == 3


def test_one_cutoff_is_the_nightly_table(history):
    as_of = CUTOFFS[-1]
    build_customer_rfm(history, as_of)
    table = history.execute("SELECT * FROM features.customer_rfm ORDER BY customer_id").df()
    pd.testing.assert_frame_equal(table, customer_features(history, as_of), check_exact=True)
    pd.testing.assert_frame_equal(table, customer_features_at(history, [as_of]), check_exact=True)
    # The one pass with a single cutoff gives the same table too.
    assert assert_features_match_reference(history, [as_of]) == len(table)


def test_cutoffs_without_lines_before_them_give_no_rows(history):
    early = dt.datetime(2010, 1, 1)
    features = customer_features_at(history, [early, CUTOFFS[0]])
    assert not (features["as_of"] == early).any()
    with pytest.raises(ValueError, match="at least one cutoff"):
        customer_features_at(history, [])


def _plain_window(connection, start: dt.datetime, end: dt.datetime) -> dict:
    """One window's outcomes and category counts with pandas, from the staging tables."""
    lines = connection.execute(
        "SELECT t.*, c.category FROM staging.transactions t "
        "LEFT JOIN features.product_categories c USING (stock_code)"
    ).df()
    returns = connection.execute("SELECT * FROM staging.returns").df()
    order_id = lines["invoice_id"].fillna(lines["invoice_ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    inside = (lines["invoice_ts"] >= start) & (lines["invoice_ts"] < end)
    returned = returns.loc[(returns["invoice_ts"] >= start) & (returns["invoice_ts"] < end)]
    spend = (
        lines.loc[inside]
        .groupby("customer_id")["line_amount"]
        .sum()
        .sub(returned.groupby("customer_id")["line_amount"].sum().abs(), fill_value=0)
    )
    before = lines.loc[lines["invoice_ts"] < start]
    return {
        "orders": order_id[inside].groupby(lines.loc[inside, "customer_id"]).nunique(),
        "spend": spend,
        "bought": set(
            zip(lines.loc[inside, "customer_id"], lines.loc[inside, "category"], strict=True)
        ),
        "lines_before": before.groupby(["customer_id", "category"]).size(),
        "store": lambda since, until: lines.loc[
            (lines["invoice_ts"] >= since) & (lines["invoice_ts"] < until)
            & lines["category"].notna() & (lines["category"] != OTHER)
        ].groupby("category").size(),
    }  # fmt: skip


def test_outcomes_and_category_columns_of_every_window_equal_a_plain_computation(history):
    # Model windows start at midnight (the trading clock counts whole days).
    starts = [start for start in reversed(CUTOFFS) if start.hour == 0]
    categories = ("HOME", "KITCHEN")
    frames = window_frames(history, starts, 30, categories=categories)
    assert [frame["window_start"].iloc[0] for frame in frames] == starts
    for start, frame in zip(starts, frames, strict=True):
        plain = _plain_window(history, start, start + dt.timedelta(days=30))
        customers = frame["customer_id"]
        expected_orders = plain["orders"].reindex(customers, fill_value=0).to_numpy()
        np.testing.assert_array_equal(frame["actual_orders"].to_numpy(), expected_orders)
        np.testing.assert_allclose(
            frame["actual_spend"], plain["spend"].reindex(customers, fill_value=0), rtol=1e-12
        )
        np.testing.assert_array_equal(frame["purchased"], expected_orders > 0)
        for category in categories:
            bought = [(c, category) in plain["bought"] for c in customers]
            np.testing.assert_array_equal(frame[bought_column(category)], bought)
            lines = [plain["lines_before"].get((c, category), 0) for c in customers]
            np.testing.assert_array_equal(
                frame[share_column(category)],
                np.asarray(lines, np.float64) / np.maximum(frame["purchase_lines"], 1),
            )
            # Less than a year of history before every window: no seasonal index.
            assert (frame[season_column(category)] == 0.0).all()
        single = window_frame(history, start, 30, categories=categories)
        pd.testing.assert_frame_equal(single, frame, check_exact=True)


def _plain_frame(history, start: dt.datetime, categories: tuple[str, ...]) -> pd.DataFrame:
    """One window's frame assembled column by column from the plain computation: the
    features of the start alone, the trading clock, then the category and outcome columns in
    the models' order and types (the spend, a float sum here, is compared on its own)."""
    frame = customer_features_at(history, [start]).reset_index(drop=True)
    frame["customer_id"] = frame["customer_id"].astype(object)
    frame["window_start"] = start
    frame, _ = add_trading_columns(frame, daily_orders(history, start), start, 30)
    plain = _plain_window(history, start, start + dt.timedelta(days=30))
    customers = frame["customer_id"]
    columns = {}
    for category in categories:
        lines = [plain["lines_before"].get((c, category), 0) for c in customers]
        columns[share_column(category)] = np.asarray(lines, np.float64) / np.maximum(
            frame["purchase_lines"].to_numpy(), 1
        )
        columns[season_column(category)] = 0.0  # less than a year of history
    orders = plain["orders"].reindex(customers, fill_value=0).to_numpy(np.int64)
    columns |= {"actual_orders": orders, "actual_spend": np.nan, "purchased": orders > 0}
    for category in categories:
        columns[bought_column(category)] = [(c, category) in plain["bought"] for c in customers]
    return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)


def test_window_frames_equal_a_plain_assembly_in_columns_types_and_row_order(history):
    """Every window's frame equals one assembled on its own from plain computations:
    the same columns in the same order, the same types, rows and index, values bit for bit
    (the spend to 1e-12, summed exactly by the query and in floats here)."""
    starts = [start for start in reversed(CUTOFFS) if start.hour == 0]
    categories = ("KITCHEN", "HOME")  # not in the order of the table's rows
    frames = window_frames(history, starts, 30, categories=categories)
    assert len(frames) == len(starts)
    for start, frame in zip(starts, frames, strict=True):
        expected = _plain_frame(history, start, categories)
        spend = _plain_window(history, start, start + dt.timedelta(days=30))["spend"]
        np.testing.assert_allclose(
            frame["actual_spend"], spend.reindex(frame["customer_id"], fill_value=0), rtol=1e-12
        )
        expected["actual_spend"] = frame["actual_spend"]
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_category_names_are_parameters_of_the_generated_columns_never_sql():
    categories = ["it's", 'a "quoted" one']
    assert category_select(BOUGHT_AT_TIME, categories) == (
        "bool_or(c.category = $category_1) AS category_1,\n"
        "       bool_or(c.category = $category_2) AS category_2"
    )
    assert category_parameters(categories) == {
        "categories": categories,
        "category_1": "it's",
        "category_2": 'a "quoted" one',
    }


def test_window_rows_place_query_rows_on_their_keys():
    starts = np.array(["2011-01-01", "2011-01-01", "2011-02-01"], dtype="datetime64[us]")
    rows = WindowRows(starts, np.array(["A", "B", "A"], dtype=object))
    found = {
        "window_start": np.array(
            ["2011-02-01", "2011-01-01", "2011-03-01", "2011-01-01"], dtype="datetime64[us]"
        ),
        # A customer of no row, a window of no row and a NULL id are left out.
        "customer_id": np.ma.masked_array(["A", "C", "A", "B"], mask=[False, False, False, True]),
        "lines": np.array([3, 4, 5, 6]),
    }
    np.testing.assert_array_equal(rows.values(found, ["lines"], 0, np.int64)[:, 0], [0, 0, 3])
    with pytest.raises(ValueError, match="two rows of one customer"):
        WindowRows(starts[:2], np.array(["A", "A"], dtype=object))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Two years of demo data (30,000 rows in short baskets: ~900 customers) through the real
    ingestion, cleaning and categories (the models' test warehouse, another seed)."""
    path = build_demo_warehouse(tmp_path_factory.mktemp("feature_windows"), seed=11)
    with duckdb.connect(str(path)) as connection:
        yield connection


def test_demo_windows_two_weeks_apart_equal_their_own_queries(demo):
    (last,) = demo.execute("SELECT max(invoice_ts) FROM staging.transactions").fetchone()
    latest = dt.datetime.combine(last.date(), dt.time()) - dt.timedelta(days=90)
    cutoffs = [latest - dt.timedelta(days=14 * k) for k in range(26)]
    assert assert_features_match_reference(demo, cutoffs) > 5_000


def test_demo_seasonal_index_equals_a_plain_computation(demo):
    (last,) = demo.execute("SELECT max(invoice_ts) FROM staging.transactions").fetchone()
    start = dt.datetime.combine(last.date(), dt.time()) - dt.timedelta(days=90)
    starts = [start, start - dt.timedelta(days=30)]
    categories = ("HOME DECOR", "KITCHEN", "CHRISTMAS")
    frames = window_frames(demo, starts, 90, categories=categories)
    for start, frame in zip(starts, frames, strict=True):
        store = _plain_window(demo, start, start)["store"]
        year_ago = start - dt.timedelta(days=365)
        window = store(year_ago, year_ago + dt.timedelta(days=90))
        year = store(year_ago, start)
        for category in categories:
            w = window.get(category, 0) / max(window.sum(), 1)
            y = year.get(category, 0) / max(year.sum(), 1)
            assert y > 0
            assert frame[season_column(category)].iloc[0] == np.log((w + 1e-3) / (y + 1e-3))
