"""The transaction-level layers on Spark: the cleaning rules and the customer features, from
the same SQL as on DuckDB (:mod:`pipeline.cleaning`, :mod:`pipeline.features`), transpiled
by :func:`pipeline.spark.dialect.to_spark`.

Ingestion stays on DuckDB, file by file (its typing macros have no sensible Spark form);
``raw.transactions`` goes to the lake as Parquet, Spark builds the staging tables and the
customer features there, and the warehouse takes them back, so every later layer reads the
tables it always read.

A DuckDB temp table is, here, a temp view over a cached result: a view alone would run its
query again in every statement that reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import duckdb

from pipeline.cleaning import (
    LATER_COPIES_SELECT,
    STAGING_SELECTS,
    CleaningCounts,
    cleaning_counts,
    rule_parameters,
)
from pipeline.features.customer_rfm import (
    CUSTOMER_FEATURES_SQL,
    FEATURE_PARTS,
    ensure_product_categories_table,
)
from pipeline.spark.dialect import to_spark, view_name
from pipeline.spark.lake import Lake, export_to_lake, import_from_lake
from pipeline.sql_text import one_row, parameters_named, transaction

RAW_EXPORT_SQL = "SELECT rowid, * FROM raw.transactions"
STAGING_TABLES = tuple(STAGING_SELECTS)


def spark_query(spark, duckdb_sql: str, parameters: Mapping[str, object]):
    """The DataFrame of one DuckDB SELECT run on Spark, with the parameters it names."""
    return spark.sql(to_spark(duckdb_sql), args=parameters_named(duckdb_sql, parameters))


def register_view(spark, lake: Lake, table: str) -> None:
    """Read the lake's current ``table`` as the temp view the transpiled SQL names."""
    location = lake.location(table)
    if location is None:
        raise ValueError(f"the lake has no {table} yet")
    spark.read.parquet(location).createOrReplaceTempView(view_name(table))


def write_table(spark, lake: Lake, table: str, frame) -> int:
    """Write ``frame`` as the lake's new ``table`` (a new folder, then the manifest)."""
    location = lake.new_location(table)
    frame.write.parquet(location)
    rows = spark.read.parquet(location).count()
    lake.commit(table, location, rows)
    return rows


@contextmanager
def cached_views(
    spark, parts: Sequence[tuple[str, str]], parameters: Mapping[str, object]
) -> Iterator[None]:
    """Spark's :func:`pipeline.sql_text.temp_tables`: each part a cached temp view, in order."""
    frames = []
    try:
        for name, sql in parts:
            frame = spark_query(spark, sql, parameters).cache()
            frame.createOrReplaceTempView(name)
            frames.append(frame)
        yield
    finally:
        # Uncached before any view is dropped: Spark Connect analyses a frame's plan again
        # to uncache it, and a later part's plan reads the earlier parts' views.
        for frame in reversed(frames):
            frame.unpersist()
        for name, _ in reversed(parts[: len(frames)]):
            spark.catalog.dropTempView(name)


def sync_to_lake(connection: duckdb.DuckDBPyConnection, spark, lake: Lake, table: str) -> None:
    """Make the lake's ``table`` the warehouse's (exported unless the lake holds as many
    rows, as after a Spark step wrote both) and register its view."""
    (rows,) = one_row(connection, f"SELECT count(*) FROM {table}")
    if lake.location(table) is None or lake.rows(table) != int(rows):
        export_to_lake(connection, lake, table, f"SELECT * FROM {table}")
    register_view(spark, lake, table)


def build_staging_on_spark(
    connection: duckdb.DuckDBPyConnection,
    spark,
    lake: Lake,
    *,
    non_product_codes: tuple[str, ...],
    latest_valid_ts: dt.datetime,
) -> CleaningCounts:
    """:func:`pipeline.cleaning.build_staging` on Spark: raw to the lake, the three staging
    tables written there, then replaced in the warehouse in one transaction."""
    export_to_lake(connection, lake, "raw.transactions", RAW_EXPORT_SQL)
    register_view(spark, lake, "raw.transactions")
    parameters = rule_parameters(non_product_codes, latest_valid_ts)
    with cached_views(spark, [("_later_copies", LATER_COPIES_SELECT)], parameters):
        for table, select in STAGING_SELECTS.items():
            write_table(spark, lake, table, spark_query(spark, select, parameters))
    with transaction(connection):
        for table in STAGING_TABLES:
            import_from_lake(connection, lake, table)
    return cleaning_counts(connection)


def build_customer_rfm_on_spark(
    connection: duckdb.DuckDBPyConnection, spark, lake: Lake, as_of: dt.datetime
) -> int:
    """:func:`pipeline.features.build_customer_rfm` on Spark; the per-customer result comes
    back to features.customer_rfm in the warehouse."""
    ensure_product_categories_table(connection)
    for table in ("staging.transactions", "staging.returns", "features.product_categories"):
        sync_to_lake(connection, spark, lake, table)
    parameters = {"as_of": as_of}
    with cached_views(spark, FEATURE_PARTS, parameters):
        features = spark_query(spark, CUSTOMER_FEATURES_SQL, parameters)
        write_table(spark, lake, "features.customer_rfm", features)
    return import_from_lake(connection, lake, "features.customer_rfm")
