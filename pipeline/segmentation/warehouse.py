"""The SQL side of segmentation: per-customer feature frames out of DuckDB, segment tables
back in. Everything per line (medians, quantiles, product prices, returns) is aggregated
here in SQL; Python only sees one row per customer."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, qualified, temp_tables

SQL = SqlFiles(__package__)
VALUE_FEATURES_SQL = SQL.read("value_features.sql")

# Quantity behaviour per customer of features.customer_rfm, over the same purchases (before
# the snapshot). A product's usual price is the median unit price of its lines across all
# customers (products with at least 3 priced lines); a line is off-price when its unit
# price is 2x or more away from it in either direction.
#
# In steps, each into a temp table, for the reason given in pipeline.features: as one
# statement, at 100M lines under a 4GB limit, DuckDB ran out of memory. The three quantiles
# share one list-quantile state (median = the 0.5 quantile, interpolated). The snapshot date
# (``$as_of``, the features table's as_of) is bound as a value: read from a one-row table
# joined to every line, it hid the lines' count from DuckDB's planner, which then built the
# product-price hash join on the lines (see 02__style_per_customer.sql).
# ``{features}`` is the customer features table (features.customer_rfm, or a snapshot's
# features of the same shape), filled in quoted by :func:`style_features`.
STYLE_PARTS = SQL.parts("style_features_parts")
STYLE_FEATURES_SQL = SQL.read("style_features.sql")
STYLE_AS_OF_SQL = "SELECT max(as_of) FROM {features}"

VALUE_SEGMENTS_SQL = "SELECT customer_id, value_segment FROM segments.customer_value"


def value_features(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """R, F, M and average order value per customer, from features.customer_rfm."""
    return connection.execute(VALUE_FEATURES_SQL).df()


def style_features(
    connection: duckdb.DuckDBPyConnection,
    off_price_factor: float = 2.0,
    features_table: str = "features.customer_rfm",
) -> pd.DataFrame:
    """Quantity and price behaviour per customer of ``features_table`` (default
    features.customer_rfm; a history snapshot passes the features of its own date), over
    the purchases before its as_of."""
    source = qualified(features_table)
    (as_of,) = one_row(connection, STYLE_AS_OF_SQL.format(features=source))
    parameters = {"off_price_factor": off_price_factor, "as_of": as_of}
    with temp_tables(connection, STYLE_PARTS, parameters):
        return connection.execute(STYLE_FEATURES_SQL.format(features=source)).df()


def value_segments(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return connection.execute(VALUE_SEGMENTS_SQL).df()
