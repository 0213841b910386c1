"""Customer features as of a date, in DuckDB SQL: RFM, behaviour and the named RFM segments.

Only transactions strictly before ``as_of`` count, so the same code builds the features of
today (as_of = the day after the last transaction) and of a past cutoff for out-of-time
model training. Product columns are optional: without stock codes the product diversity
columns are null, everything else is computed.

RFM scores are quintiles 1-5 (``ntile`` over a deterministic order, ties broken by the
other measure and the customer id so the five groups are equal-sized and stable; net spend
is compared to a millionth, so float sums in another order still tie):
R = 5 for the most recent buyers, F by number of orders, M by net spend. The named
segments map (R, F) as in the widely used RFM grid, first match wins:

| segment             | R   | F   |
|---------------------|-----|-----|
| Champions           | 5   | 4-5 |
| Loyal               | 3-4 | 4-5 |
| Potential Loyalists | 4-5 | 2-3 |
| New                 | 5   | 1   |
| Promising           | 4   | 1   |
| Need Attention      | 3   | 3   |
| About to Sleep      | 3   | 1-2 |
| Cannot Lose         | 1-2 | 5   |
| At Risk             | 1-2 | 3-4 |
| Hibernating         | 1-2 | 1-2 |
"""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.catalog.ddl import create_tables_sql
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, temp_tables

RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "Cannot Lose",
    "At Risk",
    "Hibernating",
)


# $as_of: features use purchases and returns strictly before it.
#
# Sums of amounts and units are exact (DECIMAL, to a millionth): a DOUBLE sum's last bits
# depend on the order DuckDB's threads add the rows, and those bits moved the bins of the
# gradient-boosted models, so retraining on the same data gave other scores.
#
# The per-customer parts are separate statements into temp tables, each grouped to one row
# per customer (or per order), and only then joined. As one statement, DuckDB 2.0 splits the
# DISTINCT, median and mode aggregates into sub-aggregates joined back together and spills
# far more than the parts do at 100M lines (benchmarks/RESULTS.md); each part alone does not.
SQL = SqlFiles(__package__)
FEATURE_PARTS = SQL.parts("customer_rfm_parts")
CUSTOMER_FEATURES_SQL = SQL.read("customer_features.sql")


def default_as_of(connection: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The day after the last purchase: the snapshot date of the current features."""
    (last,) = one_row(connection, "SELECT max(invoice_ts) FROM staging.transactions")
    if last is None:
        raise ValueError("staging.transactions is empty: there is nothing to compute features of")
    return dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())


def ensure_product_categories_table(connection: duckdb.DuckDBPyConnection) -> None:
    """The feature query joins product categories; an empty table stands in before the
    categories asset has run."""
    connection.execute(create_tables_sql("features.product_categories"))


def customer_features(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime):
    """Customer features as of ``as_of`` as a pandas DataFrame (for modelling)."""
    ensure_product_categories_table(connection)
    with temp_tables(connection, FEATURE_PARTS, {"as_of": as_of}):
        return connection.execute(CUSTOMER_FEATURES_SQL, {"as_of": as_of}).df()


def build_customer_rfm(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> int:
    """Write features.customer_rfm as of ``as_of``; returns the number of customers."""
    ensure_product_categories_table(connection)
    with temp_tables(connection, FEATURE_PARTS, {"as_of": as_of}):
        connection.execute(
            f"CREATE OR REPLACE TABLE features.customer_rfm AS {CUSTOMER_FEATURES_SQL}",
            {"as_of": as_of},
        )
    (count,) = one_row(connection, "SELECT count(*) FROM features.customer_rfm")
    return int(count)
