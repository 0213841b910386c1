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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

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


# Two computations of the same features, kept equal bit for bit by
# tests/test_feature_windows.py:
#
# * One date (features.customer_rfm, the scores, the decay check, a history snapshot):
#   customer_rfm_parts/ and customer_features.sql, plain aggregates over the lines before
#   $as_of. It is the cheaper of the two for one date (at 10M rows: 7.5 s of CPU against 11.2
#   s for the one pass with one cutoff) and the one the Spark engine transpiles (pipeline/
#   spark): the one pass relies on DuckDB's aggregate states, which Spark has no form of.
# * Several dates (the training windows): one pass over the lines, not one query per cutoff.
#   The cutoffs cut time into segments (segment k: the lines from the k-th cutoff to the
#   next, oldest first; segment 0 before the first); the lines before the k-th cutoff are
#   those of segments 0 .. k-1. Each part (cutoff_feature_parts/) groups the lines once per
#   customer and segment, and a running window over the segments gives each cutoff's values
#   (cutoff_features.sql), identical to aggregating the lines before it: exact DECIMAL sums
#   and counts (an average of DECIMALs is the exact sum cast to DOUBLE over the count, which
#   is what DuckDB's avg returns), and for the floating-point means and spreads DuckDB's
#   aggregate states (EXPORT_STATE), added up with combine() and finalize() (rounded to 9
#   decimals, as they always were). The distinct counts come from the segment each product or
#   category first appears in, the median from the customer's prices listed in segment order
#   (those before a cutoff are a prefix), the main country from running counts per country.
#   So N cutoffs cost one scan of the lines per part plus N rows per customer.
#
# Sums of amounts and units are exact (DECIMAL, to a millionth): a DOUBLE sum's last bits
# depend on the order DuckDB's threads add the rows, and those bits moved the bins of the
# gradient-boosted models, so retraining on the same data gave other scores.
#
# The per-customer parts are separate statements into temp tables, each grouped to one row
# per customer (and segment, or per order), and only then joined. As one statement, DuckDB
# 2.0 splits the DISTINCT, median and mode aggregates into sub-aggregates joined back
# together and spills far more than the parts do at 100M lines (benchmarks/RESULTS.md).
SQL = SqlFiles(__package__)
CUTOFF_PARTS = SQL.parts("cutoff_parts")
CUTOFF_VIEWS = SQL.parts("cutoff_views")
FEATURE_PARTS = SQL.parts("customer_rfm_parts")
CUSTOMER_FEATURES_SQL = SQL.read("customer_features.sql")
CUTOFF_FEATURE_PARTS = SQL.parts("cutoff_feature_parts")
CUTOFF_FEATURES_SQL = SQL.read("cutoff_features.sql")


@contextmanager
def cutoff_segments(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime]
) -> Iterator[None]:
    """Within the block: ``_features_cutoffs`` (as_of, cutoff_index: 1 for the oldest),
    ``_features_days`` and the views ``_features_lines`` and ``_features_return_lines``
    (staging.transactions and staging.returns before the last cutoff, with each line's
    ``segment``: the number of cutoffs at or before it)."""
    if not cutoffs:
        raise ValueError("at least one cutoff date is needed")
    with temp_tables(connection, CUTOFF_PARTS, {"as_of_dates": list(cutoffs)}):
        try:
            for name, sql in CUTOFF_VIEWS:
                connection.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
            yield
        finally:
            for name, _ in reversed(CUTOFF_VIEWS):
                connection.execute(f"DROP VIEW IF EXISTS {name}")


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


@contextmanager
def _cutoff_feature_parts(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime]
) -> Iterator[None]:
    ensure_product_categories_table(connection)
    with cutoff_segments(connection, cutoffs), temp_tables(connection, CUTOFF_FEATURE_PARTS, {}):
        yield


def customer_features_at(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime]
) -> pd.DataFrame:
    """Customer features as of each of ``cutoffs``: one row per cutoff (column ``as_of``)
    and customer with a purchase before it, ordered by as_of and customer_id; the rows of one
    cutoff are what :func:`customer_features` gives for it. Several cutoffs are computed in
    one pass over the lines; one is :func:`customer_features` itself."""
    cutoffs = sorted(set(cutoffs))
    if len(cutoffs) == 1:
        return customer_features(connection, cutoffs[0])
    return one_pass_features(connection, cutoffs)


def one_pass_features(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime]
) -> pd.DataFrame:
    """:func:`customer_features_at` in one pass over the lines, whatever the number of
    cutoffs (see the comment above)."""
    with _cutoff_feature_parts(connection, cutoffs):
        return connection.execute(CUTOFF_FEATURES_SQL).df()


def write_features_at(
    connection: duckdb.DuckDBPyConnection, cutoffs: Sequence[dt.datetime], path: Path
) -> None:
    """:func:`one_pass_features` written to the Parquet file ``path`` rather than returned
    (the rows of many cutoffs, kept without a round trip through pandas)."""
    with _cutoff_feature_parts(connection, sorted(set(cutoffs))):
        connection.execute(
            f"COPY ({CUTOFF_FEATURES_SQL}) TO $path (FORMAT parquet)", {"path": str(path)}
        )


def customer_features(connection: duckdb.DuckDBPyConnection, as_of: dt.datetime) -> pd.DataFrame:
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
