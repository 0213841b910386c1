"""The purchase-style features (pipeline.segmentation.warehouse.style_features) against the
statement they replaced, kept here as the reference: every column, customer by customer,
must be identical (no tolerance: the quartiles are still DuckDB's quantile_cont, and the
products' median is taken from the cumulative counts with DuckDB's own interpolation
formula, so even the interpolated floats agree to the bit)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.demo import write_demo_data
from pipeline.segmentation.warehouse import STYLE_PARTS, style_features
from pipeline.sql_text import temp_tables
from tests.conftest import write_csv
from tests.test_segmentation import build_warehouse

# The statement as it was: the snapshot date from a one-row table joined to every line, the
# products' median as a holistic aggregate.
REFERENCE_PARTS = (
    ("_style_snapshot", "SELECT max(as_of) AS as_of FROM features.customer_rfm"),
    (
        "_style_product_price",
        """
        SELECT t.stock_code, median(t.unit_price) AS usual_price
        FROM staging.transactions t, _style_snapshot s
        WHERE t.invoice_ts < s.as_of AND t.stock_code IS NOT NULL AND t.unit_price > 0
        GROUP BY t.stock_code
        HAVING count(*) >= 3
        """,
    ),
    (
        "_style_per_customer",
        """
        WITH quantity_lines AS (
            SELECT t.customer_id, t.quantity,
                   abs(ln(t.unit_price / p.usual_price)) >= ln($off_price_factor) AS off_price
            FROM staging.transactions t
            CROSS JOIN _style_snapshot s
            LEFT JOIN _style_product_price p USING (stock_code)
            WHERE t.invoice_ts < s.as_of AND t.quantity > 0
        )
        SELECT customer_id,
               count(*) AS quantity_lines,
               quantile_cont(quantity, [0.25, 0.5, 0.75]) AS quartiles,
               count(off_price) AS priced_lines,
               count(*) FILTER (WHERE off_price) AS off_price_lines
        FROM quantity_lines
        GROUP BY customer_id
        """,
    ),
    (
        "_style_returned",
        """
        SELECT r.customer_id, max(-r.quantity) AS max_returned_units
        FROM staging.returns r, _style_snapshot s
        WHERE r.invoice_ts < s.as_of AND r.quantity < 0
        GROUP BY r.customer_id
        """,
    ),
)
REFERENCE_SELECT = """
SELECT
    f.customer_id,
    coalesce(p.quantity_lines, 0) AS quantity_lines,
    p.quartiles[2] AS median_units_per_line,
    p.quartiles[1] AS p25_units_per_line,
    p.quartiles[3] AS p75_units_per_line,
    f.avg_units_per_line,
    f.max_units_per_line,
    f.units_per_line_cv,
    f.median_unit_price,
    coalesce(p.priced_lines, 0) AS priced_lines,
    coalesce(p.off_price_lines, 0) AS off_price_lines,
    coalesce(p.off_price_lines / nullif(p.priced_lines, 0), 0) AS off_price_share,
    coalesce(r.max_returned_units, 0) AS max_returned_units,
    f.as_of
FROM features.customer_rfm f
LEFT JOIN _style_per_customer p USING (customer_id)
LEFT JOIN _style_returned r USING (customer_id)
ORDER BY f.customer_id
"""
PARAMETERS = {"off_price_factor": 2.0}


def reference_features(connection) -> pd.DataFrame:
    with temp_tables(connection, REFERENCE_PARTS, PARAMETERS):
        return connection.execute(REFERENCE_SELECT).df()


def usual_prices(connection, parts, parameters) -> pd.DataFrame:
    with temp_tables(connection, parts, parameters):
        return connection.execute(
            "SELECT stock_code, usual_price FROM _style_product_price ORDER BY stock_code"
        ).df()


def assert_identical(connection) -> pd.DataFrame:
    """The new features equal the reference's in every column, types and nulls included;
    and so do the products' usual prices (which reach the features only through the
    off-price counts)."""
    expected = reference_features(connection)
    actual = style_features(connection)
    assert len(actual) > 0
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    (as_of,) = connection.execute("SELECT max(as_of) FROM features.customer_rfm").fetchone()
    pd.testing.assert_frame_equal(
        usual_prices(connection, STYLE_PARTS, {**PARAMETERS, "as_of": as_of}),
        usual_prices(connection, REFERENCE_PARTS, PARAMETERS),
        check_exact=True,
    )
    return actual


def line(invoice, code, quantity, day, price, customer):
    return f"{invoice},{code},item {code},{quantity},{day} 10:00,{price},{customer},United Kingdom"


# (customer, [quantities]) on product P4 at 2.0, except where a line says otherwise.
EDGE_LINES = [
    # ties around every quartile: 1,1,1,2,2,5 (positions 1.25, 2.5, 3.75 interpolate)
    *(
        line(f"1{i}", "P4", q, "2011-03-0" + str(i + 1), 2.0, "A")
        for i, q in enumerate([1, 1, 1, 2, 2, 5])
    ),
    line("20", "P4", 7, "2011-03-01", 2.0, "B"),  # one line: every quartile is that line
    line("30", "P4", 3, "2011-03-02", 2.0, "C"),  # two lines: interpolated between them
    line("31", "P4", 10, "2011-03-03", 9.0, "C"),  # ... one of them off-price (4.5x)
    # products with fewer than 3 priced lines have no usual price: their lines are not priced
    line("40", "P1", 4, "2011-03-04", 1.0, "D"),
    line("41", "P2", 4, "2011-03-04", 3.0, "D"),
    line("42", "P2", 4, "2011-03-05", 30.0, "D"),
    # P3: four priced lines with a tie, median between 5.0 and 6.0 (interpolated)
    *(line(f"5{i}", "P3", 2, "2011-03-06", p, "E") for i, p in enumerate([5.0, 5.0, 6.0, 13.0])),
    line("60", "P4", 2, "2011-03-07", 2.0, "F"),
    line("C61", "P4", -40, "2011-03-08", 2.0, "F"),  # a returned line
    line("70", "P4", 1, "2012-01-02", 2.0, "A"),  # after the snapshot: ignored
]


def test_edge_cases_give_the_same_features_as_the_reference(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "edge.csv", EDGE_LINES)
    with duckdb.connect() as connection:
        build_warehouse(connection, landing)
        connection.execute(
            "UPDATE features.customer_rfm SET as_of = TIMESTAMP '2011-12-01'"
        )  # the line of 2012 is after the snapshot
        features = assert_identical(connection).set_index("customer_id")
        prices = usual_prices(
            connection,
            STYLE_PARTS,
            {
                **PARAMETERS,
                "as_of": connection.execute(
                    "SELECT max(as_of) FROM features.customer_rfm"
                ).fetchone()[0],
            },
        )
    # the reference is not compared with itself only: the cases are what they claim to be
    assert features.loc[
        "A", ["p25_units_per_line", "median_units_per_line", "p75_units_per_line"]
    ].tolist() == [1.0, 1.5, 2.0]
    assert (
        features.loc["B", "quantity_lines"] == 1
        and features.loc["B", "median_units_per_line"] == 7.0
    )
    assert features.loc["C", "median_units_per_line"] == 6.5
    assert features.loc["C", "off_price_lines"] == 1
    assert features.loc["D", "priced_lines"] == 0
    assert features.loc["F", "max_returned_units"] == 40.0
    assert dict(zip(prices["stock_code"], prices["usual_price"], strict=True)) == {
        "P3": 5.5,
        "P4": 2.0,
    }


def test_customers_without_quantities_give_the_same_features(tmp_path):
    rows = [f"C{c},2011-0{1 + c % 9}-1{c % 10},{10 + c}.5" for c in range(12)]
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "sales.csv", rows, header="customer_id,date,amount")
    with duckdb.connect() as connection:
        build_warehouse(connection, landing)
        features = assert_identical(connection)
    assert (features["quantity_lines"] == 0).all()
    assert features["median_units_per_line"].isna().all()


@pytest.fixture(scope="module")
def demo_connection(tmp_path_factory):
    root = tmp_path_factory.mktemp("style_demo")
    write_demo_data(root / "landing", root / "demo", 200_000, 3, "parquet")
    connection = duckdb.connect()
    build_warehouse(connection, root / "landing")
    yield connection
    connection.close()


def test_generated_demo_gives_the_same_features_as_the_reference(demo_connection):
    features = assert_identical(demo_connection)
    # the demo has what the cases above isolate: customers whose quartiles interpolate,
    # single-line customers, off-price lines, returns, customers without a returned line
    assert (features["median_units_per_line"] % 1 != 0).any()
    assert (features["quantity_lines"] == 1).any()
    assert features["off_price_lines"].sum() > 0
    assert (features["max_returned_units"] > 0).any() and (
        features["max_returned_units"] == 0
    ).any()
    assert np.isfinite(features["off_price_share"]).all()
