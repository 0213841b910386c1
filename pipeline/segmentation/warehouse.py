"""The SQL side of segmentation: per-customer feature frames out of DuckDB, segment tables
back in. Everything per line (medians, quantiles, product prices, returns) is aggregated
here in SQL; Python only sees one row per customer."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.catalog import TABLES
from pipeline.sql_text import qualified, quote_identifier

VALUE_FEATURES_SQL = """
SELECT customer_id, recency_days, frequency, monetary, avg_order_value, as_of
FROM features.customer_rfm
ORDER BY customer_id
"""

# Quantity behaviour per customer of features.customer_rfm, over the same purchases (before
# the snapshot). A product's usual price is the median unit price of its lines across all
# customers (products with at least 3 priced lines); a line is off-price when its unit
# price is 2x or more away from it in either direction.
STYLE_FEATURES_SQL = """
WITH snapshot AS (
    SELECT max(as_of) AS as_of FROM features.customer_rfm
), lines AS (
    SELECT t.customer_id, t.stock_code, t.quantity, t.unit_price
    FROM staging.transactions t, snapshot s
    WHERE t.invoice_ts < s.as_of
), product_price AS (
    SELECT stock_code, median(unit_price) AS usual_price
    FROM lines
    WHERE stock_code IS NOT NULL AND unit_price > 0
    GROUP BY stock_code
    HAVING count(*) >= 3
), quantity_lines AS (
    SELECT l.customer_id, l.quantity,
           abs(ln(l.unit_price / p.usual_price)) >= ln($off_price_factor) AS off_price
    FROM lines l
    LEFT JOIN product_price p USING (stock_code)
    WHERE l.quantity > 0
), per_customer AS (
    SELECT customer_id,
           count(*) AS quantity_lines,
           median(quantity) AS median_units_per_line,
           quantile_cont(quantity, 0.25) AS p25_units_per_line,
           quantile_cont(quantity, 0.75) AS p75_units_per_line,
           count(off_price) AS priced_lines,
           count(*) FILTER (WHERE off_price) AS off_price_lines
    FROM quantity_lines
    GROUP BY customer_id
), returned AS (
    SELECT r.customer_id, max(-r.quantity) AS max_returned_units
    FROM staging.returns r, snapshot s
    WHERE r.invoice_ts < s.as_of AND r.quantity < 0
    GROUP BY r.customer_id
)
SELECT
    f.customer_id,
    coalesce(p.quantity_lines, 0) AS quantity_lines,
    p.median_units_per_line,
    p.p25_units_per_line,
    p.p75_units_per_line,
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
LEFT JOIN per_customer p USING (customer_id)
LEFT JOIN returned r USING (customer_id)
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
    return connection.execute(STYLE_FEATURES_SQL, {"off_price_factor": off_price_factor}).df()


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
