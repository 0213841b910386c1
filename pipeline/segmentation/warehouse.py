"""The SQL side of segmentation: per-customer feature frames out of DuckDB, segment tables
back in. Everything per line (medians, quantiles, product prices, returns) is aggregated
here in SQL; Python only sees one row per customer."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.catalog import TABLES
from pipeline.sql_text import qualified, quote_identifier, temp_tables

VALUE_FEATURES_SQL = """
SELECT customer_id, recency_days, tenure_days, frequency, monetary, avg_order_value, as_of
FROM features.customer_rfm
ORDER BY customer_id
"""

# Quantity behaviour per customer of features.customer_rfm, over the same purchases (before
# the snapshot). A product's usual price is the median unit price of its lines across all
# customers (products with at least 3 priced lines); a line is off-price when its unit
# price is 2x or more away from it in either direction.
#
# In steps, each into a temp table, for the reason given in pipeline.features: as one
# statement, at 100M lines under a 4GB limit, DuckDB ran out of memory. The three quantiles
# share one list-quantile state (median = the 0.5 quantile, interpolated).
STYLE_PARTS: tuple[tuple[str, str], ...] = (
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
STYLE_FEATURES_SQL = """
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

VALUE_SEGMENTS_SQL = "SELECT customer_id, value_segment FROM segments.customer_value"


def value_features(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """R, F, M and average order value per customer, from features.customer_rfm."""
    return connection.execute(VALUE_FEATURES_SQL).df()


def style_features(
    connection: duckdb.DuckDBPyConnection, off_price_factor: float = 2.0
) -> pd.DataFrame:
    """Quantity and price behaviour per customer of features.customer_rfm."""
    with temp_tables(connection, STYLE_PARTS, {"off_price_factor": off_price_factor}):
        return connection.execute(STYLE_FEATURES_SQL).df()


def value_segments(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return connection.execute(VALUE_SEGMENTS_SQL).df()


def write_table(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Replace ``table`` with ``frame``: the catalog's columns, in its order and types,
    sorted by customer_id. Returns the rows written."""
    columns = TABLES[table].columns
    missing = [c.name for c in columns if c.name not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the frame lacks column(s) {', '.join(missing)}")
    select = ",\n    ".join(
        f"CAST({quote_identifier(c.name)} AS {c.type}) AS {quote_identifier(c.name)}"
        for c in columns
    )
    schema = table.split(".")[0]
    view = "_segment_frame"
    connection.register(view, frame)
    try:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        connection.execute(
            f"CREATE OR REPLACE TABLE {qualified(table)} AS\n"
            f"SELECT\n    {select}\nFROM {view}\nORDER BY customer_id"
        )
    finally:
        connection.unregister(view)
    return len(frame)
