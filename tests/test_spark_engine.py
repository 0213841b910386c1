"""DuckDB and Spark return the same rows for every transaction-level statement, and the
Spark layers leave the warehouse as the DuckDB ones do. Spark in local mode (marker spark)."""

from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.cleaning import LATER_COPIES_SELECT, STAGING_SELECTS, build_staging, rule_parameters
from pipeline.demo import write_demo_data
from pipeline.features import build_customer_rfm, default_as_of
from pipeline.features.customer_rfm import CUSTOMER_FEATURES_SQL, FEATURE_PARTS
from pipeline.ingest import ingest_landing
from pipeline.product_categories import build_product_categories, load_rules
from pipeline.segmentation.warehouse import STYLE_FEATURES_SQL, STYLE_PARTS
from pipeline.settings import Settings
from pipeline.spark.lake import Lake, export_to_lake
from pipeline.spark.layers import (
    RAW_EXPORT_SQL,
    build_customer_rfm_on_spark,
    build_staging_on_spark,
    cached_views,
    register_view,
    spark_query,
)
from pipeline.sql_text import parameters_named, temp_tables

pytestmark = pytest.mark.spark

LATEST_VALID_TS = dt.datetime(2013, 1, 1)
FEATURES = '"features"."customer_rfm"'
STATEMENTS = {
    "cleaning": (
        [("_later_copies", LATER_COPIES_SELECT)],
        list(STAGING_SELECTS.values()),
        rule_parameters(Settings(data_dir=None).non_product_codes, LATEST_VALID_TS),
    ),
    "customer_features": (list(FEATURE_PARTS), [CUSTOMER_FEATURES_SQL], {}),
    "style_features": (
        [(name, sql.format(features=FEATURES)) for name, sql in STYLE_PARTS],
        [STYLE_FEATURES_SQL.format(features=FEATURES)],
        {"off_price_factor": 2.0},
    ),
}
LAKE_INPUTS = (
    ("raw.transactions", RAW_EXPORT_SQL),
    *((t, f"SELECT * FROM {t}") for t in ("staging.transactions", "staging.returns")),
    *((t, f"SELECT * FROM {t}") for t in ("features.product_categories", "features.customer_rfm")),
)


def _fixture_warehouse(root) -> duckdb.DuckDBPyConnection:
    """4,000 demo lines with their dirt (guests, returns, duplicates, fees), on DuckDB."""
    (root / "landing").mkdir(parents=True)
    write_demo_data(root / "landing", root / "demo", 4_000, seed=11)
    connection = duckdb.connect(str(root / "duckdb.duckdb"))
    ingest_landing(connection, root / "landing", root / "none.yaml")
    return connection


def _refreshed_on_duckdb(connection, root) -> None:
    build_staging(
        connection,
        non_product_codes=Settings(data_dir=root).non_product_codes,
        latest_valid_ts=LATEST_VALID_TS,
    )
    build_product_categories(connection, root / "no_categories.csv", load_rules())
    build_customer_rfm(connection, default_as_of(connection))


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats, lists as tuples, rows in one order: what both engines must agree on."""

    def value(cell):
        if isinstance(cell, list | tuple | np.ndarray):
            return tuple(float(x) for x in cell)
        if isinstance(cell, decimal.Decimal | np.integer | np.floating | int | float):
            return float(cell)
        return cell

    out = frame.map(value) if len(frame) else frame
    out = out.astype({c: float for c in out.columns if pd.api.types.is_numeric_dtype(out[c])})
    return out.sort_values(list(out.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


def assert_same_rows(duckdb_frame: pd.DataFrame, spark_frame: pd.DataFrame, what: str) -> None:
    assert list(duckdb_frame.columns) == list(spark_frame.columns), what
    assert len(duckdb_frame) == len(spark_frame), what
    left, right = _comparable(duckdb_frame), _comparable(spark_frame)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), f"{what}: {column}"
        elif isinstance(a.dropna().iloc[0] if a.notna().any() else None, tuple):
            assert all(np.allclose(x, y) for x, y in zip(a, b, strict=True)), f"{what}: {column}"
        else:
            assert a.fillna("<null>").tolist() == b.fillna("<null>").tolist(), f"{what}: {column}"


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory, spark):
    """The fixture warehouse refreshed on DuckDB, and its tables in a lake Spark reads."""
    root = tmp_path_factory.mktemp("spark_statements")
    connection = _fixture_warehouse(root)
    _refreshed_on_duckdb(connection, root)
    lake = Lake.under(root)
    for table, sql in LAKE_INPUTS:
        export_to_lake(connection, lake, table, sql)
        register_view(spark, lake, table)
    yield connection, spark
    connection.close()


@pytest.mark.parametrize("layer", list(STATEMENTS))
def test_each_statement_returns_the_same_rows_on_both_engines(both_engines, layer):
    connection, spark = both_engines
    parts, selects, parameters = STATEMENTS[layer]
    parameters = {**parameters, "as_of": default_as_of(connection)}
    compared = 0
    with temp_tables(connection, parts, parameters), cached_views(spark, parts, parameters):
        for name, _ in parts:
            assert_same_rows(
                connection.execute(f"FROM {name}").df(), spark.table(name).toPandas(), name
            )
            compared += 1
        for sql in selects:
            expected = connection.execute(sql, parameters_named(sql, parameters)).df()
            assert len(expected) > 0
            assert_same_rows(expected, spark_query(spark, sql, parameters).toPandas(), sql[:60])
            compared += 1
    assert compared == len(parts) + len(selects)


def test_the_spark_layers_leave_the_warehouse_as_duckdb_does(tmp_path, spark):
    on_duckdb = _fixture_warehouse(tmp_path / "d")
    on_spark = _fixture_warehouse(tmp_path / "s")
    _refreshed_on_duckdb(on_duckdb, tmp_path / "d")
    lake = Lake.under(tmp_path / "s")
    codes = Settings(data_dir=tmp_path).non_product_codes
    for _ in range(2):  # the second run replaces every lake table with a new folder
        counts = build_staging_on_spark(
            on_spark, spark, lake, non_product_codes=codes, latest_valid_ts=LATEST_VALID_TS
        )
        build_product_categories(on_spark, tmp_path / "no_categories.csv", load_rules())
        build_customer_rfm_on_spark(on_spark, spark, lake, default_as_of(on_spark))
    assert counts.excluded_by_rule["duplicate_line"] > 0 and counts.returns > 0
    for table in (
        "staging.transactions",
        "staging.returns",
        "staging.excluded",
        "features.customer_rfm",
    ):
        schema = f"SELECT column_name, column_type FROM (DESCRIBE {table})"
        assert on_spark.execute(schema).fetchall() == on_duckdb.execute(schema).fetchall()
        assert_same_rows(
            on_duckdb.execute(f"FROM {table}").df(), on_spark.execute(f"FROM {table}").df(), table
        )
    folders = list((tmp_path / "s" / "lake" / "staging" / "transactions").iterdir())
    assert [str(f) for f in folders] == [lake.location("staging.transactions")]


def test_local_spark_listens_on_the_loopback_only(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
