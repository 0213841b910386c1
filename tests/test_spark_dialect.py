"""The DuckDB-to-Spark rewrites, the lake's table replacement and the engine setting;
none of these starts Spark (tests/test_spark_engine.py runs the SQL on it)."""

from __future__ import annotations

import json

import pytest
import sqlglot
from sqlglot import exp

from pipeline.cleaning import LATER_COPIES_SELECT, STAGING_SELECTS
from pipeline.features.customer_rfm import CUSTOMER_FEATURES_SQL, FEATURE_PARTS
from pipeline.segmentation.warehouse import STYLE_FEATURES_SQL, STYLE_PARTS
from pipeline.spark.dialect import to_spark, view_name
from pipeline.spark.lake import Lake

TRANSACTION_LEVEL = [
    LATER_COPIES_SELECT,
    *STAGING_SELECTS.values(),
    *(sql for _, sql in FEATURE_PARTS),
    CUSTOMER_FEATURES_SQL,
    *(sql.format(features='"features"."customer_rfm"') for _, sql in STYLE_PARTS),
    STYLE_FEATURES_SQL.format(features='"features"."customer_rfm"'),
]


def spark_tree(sql: str) -> exp.Expression:
    return sqlglot.parse_one(to_spark(sql), read="spark")


def test_schema_qualified_tables_read_the_lake_views():
    tree = spark_tree(
        'SELECT * FROM staging.transactions t JOIN "features"."customer_rfm" USING (a)'
    )
    assert sorted(t.name for t in tree.find_all(exp.Table)) == [
        "features__customer_rfm",
        "staging__transactions",
    ]
    assert all(not t.db for t in tree.find_all(exp.Table))
    assert view_name("raw.transactions") == "raw__transactions"


def test_a_list_quantile_becomes_a_percentile_over_an_array():
    spark = to_spark("SELECT quantile_cont(quantity, [0.25, 0.5, 0.75]) AS q FROM t").lower()
    assert "percentile(quantity, array(" in spark
    assert "quantile" not in spark


def test_regex_back_references_become_dollar_references():
    spark = to_spark(r"SELECT regexp_replace(code, '^(\d+)-(\w)$', '\2:\1') FROM t")
    assert "'$2:$1'" in spark
    assert "\\1" not in spark and "\\2" not in spark


def test_decimal_literals_are_doubles_and_integers_stay_integers():
    tree = spark_tree("SELECT a / 86400.0 AS days, a + 1e3 AS b, a * 2 AS c FROM t")
    casts = [c for c in tree.find_all(exp.Cast) if c.to.this == exp.DataType.Type.DOUBLE]
    assert sorted(c.this.name for c in casts) == ["1e3", "86400.0"]
    assert any(
        lit.name == "2" and not isinstance(lit.parent, exp.Cast)
        for lit in tree.find_all(exp.Literal)
    )


def test_hash_is_the_64_bit_one():
    spark = to_spark("SELECT hash(a, b) FROM t").lower()
    assert "xxhash64(a, b)" in spark


def test_parameters_become_named_markers():
    spark = to_spark("SELECT * FROM t WHERE ts < $as_of AND list_contains($codes, code)")
    assert ":as_of" in spark and ":codes" in spark and "$" not in spark


@pytest.mark.parametrize("sql", TRANSACTION_LEVEL, ids=lambda sql: sql.strip()[:40])
def test_every_transaction_level_statement_transpiles_to_valid_spark_sql(sql):
    tree = spark_tree(sql)
    assert all(not table.db for table in tree.find_all(exp.Table))
    assert "$" not in tree.sql(dialect="spark", comments=False)


def test_only_one_statement_is_transpiled():
    with pytest.raises(ValueError, match="expected one statement"):
        to_spark("SELECT 1; SELECT 2")


def test_the_manifest_switches_to_a_new_folder_and_the_old_one_goes(tmp_path):
    lake = Lake.under(tmp_path)
    first = lake.new_location("staging.returns")
    second = lake.new_location("staging.returns")
    assert first != second and first.startswith(str(tmp_path / "lake" / "staging" / "returns"))
    for location in (first, second):
        (tmp_path / location).mkdir(parents=True, exist_ok=True)
    lake.commit("staging.returns", first, 3)
    assert lake.location("staging.returns") == first and lake.rows("staging.returns") == 3
    lake.commit("staging.returns", second, 5)
    assert lake.location("staging.returns") == second
    assert not (tmp_path / first).exists() and (tmp_path / second).exists()
    assert json.loads(lake.manifest.read_text())["staging.returns"]["rows"] == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_engine_setting_names_the_allowed_values(monkeypatch):
    from resources.sql_engine import SqlEngine, sql_engine_from_env

    assert SqlEngine().describe() == "duckdb"
    assert SqlEngine(engine="Spark", spark_master="local[1]").describe() == "Spark local[1]"
    remote = SqlEngine(engine="spark", spark_remote="sc://127.0.0.1:15002")
    assert remote.describe() == "Spark Connect sc://127.0.0.1:15002"
    with pytest.raises(ValueError, match="SQL_ENGINE must be one of duckdb, spark"):
        SqlEngine(engine="polars").describe()
    monkeypatch.setenv("SQL_ENGINE", "spark")
    assert sql_engine_from_env().engine == "SQL_ENGINE"  # an EnvVar: the UI names its source
    monkeypatch.setenv("SQL_ENGINE", "polars")
    with pytest.raises(ValueError, match="got 'polars'"):
        sql_engine_from_env()
