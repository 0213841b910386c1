"""The table contracts (pipeline/catalog/*.yaml): they load, say what they must, and reject
what they cannot mean."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.catalog import CONTRACTS_DIR, TABLES, ContractError, load_contracts
from pipeline.catalog.ddl import comment_statements, create_table_sql
from pipeline.catalog.vocabularies import VOCABULARIES
from pipeline.sql_text import quote_identifier


def test_every_contract_is_described_and_typed():
    connection = duckdb.connect()
    for name, contract in TABLES.items():
        assert contract.description.strip(), name
        assert contract.columns, name
        assert all(column.description.strip() for column in contract.columns), name
        # Every type is one DuckDB understands.
        columns = ", ".join(f"{quote_identifier(c.name)} {c.type}" for c in contract.columns)
        connection.execute(f"CREATE OR REPLACE TEMP TABLE probe ({columns})")


def test_shared_column_groups_expand_in_place():
    staging = [c.name for c in TABLES["staging.excluded"].columns]
    assert staging[:3] == ["invoice_id", "stock_code", "description"]
    assert staging[-4:] == ["source_file", "source_sheet", "source_row", "rule"]
    assert TABLES["raw.transactions"].columns[:12] == TABLES["staging.transactions"].columns


def test_checks_carry_their_severity():
    staging = TABLES["staging.transactions"]
    kinds = {(check.kind, check.severity) for check in staging.checks}
    assert ("unique_key", "blocking") in kinds
    assert ("freshness", "warn") in kinds
    assert staging.blocking
    assert not TABLES["raw.quarantine"].blocking


def test_named_vocabularies_are_the_labelling_code_s_own():
    from pipeline.segmentation import labels

    assert VOCABULARIES["value_segments"]() is labels.VALUE_SEGMENTS
    assert VOCABULARIES["value_style_labels"]() is labels.VALUE_STYLE_LABELS
    for name, vocabulary in VOCABULARIES.items():
        values = vocabulary()
        assert values and all(isinstance(v, str) for v in values), name
    assert "duplicate_line" in VOCABULARIES["exclusion_rules"]()
    assert "cancellation" not in VOCABULARIES["exclusion_rules"](), "goes to returns"


def _contracts_with(tmp_path: Path, text: str) -> Path:
    shutil.copy(CONTRACTS_DIR / "column_groups.yaml", tmp_path)
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    return tmp_path


GOOD = """
schema: demo
tables:
  things:
    description: Things.
    key: [thing_id]
    columns:
      - {name: thing_id, type: VARCHAR, description: The thing.}
      - {name: size, type: DOUBLE, description: How big.}
    checks:
      blocking: [schema, unique_key]
      warn:
        - positive: [size]
"""


def test_a_small_contract_loads(tmp_path):
    contract = load_contracts(_contracts_with(tmp_path, GOOD))["demo.things"]
    assert contract.key == ("thing_id",)
    assert [(c.kind, c.severity, c.columns) for c in contract.checks] == [
        ("schema", "blocking", ()),
        ("unique_key", "blocking", ()),
        ("positive", "warn", ("size",)),
    ]
    assert contract.in_warehouse and not contract.published


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("- positive: [size]", "- positive: [weight]"), "'weight' is not a column"),
        (("- positive: [size]", "- looks_fine: [size]"), "unknown check 'looks_fine'"),
        (("- positive: [size]", "- allowed_values: {size: sizes}"), "unknown vocabulary"),
        (("    key: [thing_id]\n", ""), "unique_key needs a key"),
        (("warn:", "maybe:"), "grouped by severity"),
        (("    description: Things.", "    descripton: Things."), "unknown fields"),
    ],
)
def test_a_malformed_contract_is_rejected_with_its_place(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(ContractError, match=message) as error:
        load_contracts(_contracts_with(tmp_path, GOOD.replace(old, new)))
    assert "demo.yaml: things" in str(error.value)


# ---- the GX suites derived from the contracts ---------------------------------------


def test_a_blocking_check_is_critical_and_a_warn_check_a_warning():
    from pipeline import quality

    suite = quality.suite_for("staging.transactions")
    severity = {(e.expectation_type, getattr(e, "column", None)): e.severity.value for e in suite}
    assert severity[("expect_column_values_to_not_be_null", "customer_id")] == "critical"
    assert severity[("expect_column_max_to_be_between", "invoice_ts")] == "warning"
    types = [e.expectation_type for e in suite]
    assert types.count("expect_column_values_to_be_of_type") == len(
        TABLES["staging.transactions"].columns
    )
    assert "expect_compound_columns_to_be_unique" in types
    assert {e.severity.value for e in quality.suite_for("raw.quarantine")} == {"warning"}


def test_allowed_values_come_from_the_labelling_code():
    from pipeline import quality
    from pipeline.segmentation.labels import PERSONAS

    (rule,) = [
        e
        for e in quality.suite_for("segments.personas")
        if e.expectation_type == "expect_column_values_to_be_in_set"
    ]
    assert rule.column == "persona"
    assert list(rule.value_set) == list(PERSONAS)


def test_every_check_kind_builds_expectations_on_its_columns():
    from pipeline import quality

    for name in quality.suite_names():
        suite = quality.suite_for(name)
        columns = {c.name for c in TABLES[name].columns}
        named = {getattr(e, "column", None) for e in suite} - {None}
        assert named <= columns, name
        assert len(suite) >= len(TABLES[name].checks), name


def test_the_check_description_lists_each_severity():
    from pipeline import quality

    text = quality.describe_checks(TABLES["staging.transactions"])
    assert "Blocking: schema; not null (customer_id, invoice_ts" in text
    assert "unique key (source_file, source_sheet, source_row)" in text
    assert text.endswith("Warn: freshness (invoice_ts).")


def test_a_table_without_checks_has_no_suite():
    from pipeline import quality

    assert "bi.customer_intel" not in quality.suite_names()
    with pytest.raises(KeyError, match="no data-quality suite"):
        quality.suite_for("bi.customer_intel")


# ---- DDL and comments derived from the contracts ------------------------------------


def _nullable(connection, table):
    schema, name = table.split(".")
    return dict(
        connection.execute(
            "SELECT column_name, is_nullable FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, name],
        ).fetchall()
    )


def test_tables_created_empty_are_the_ones_the_code_creates():
    created = sorted(name for name, contract in TABLES.items() if contract.created_empty)
    assert created == [
        "features.product_categories",
        "history.customer_snapshots",
        "marts.prediction_log",
        "raw.file_ledger",
        "raw.quarantine",
        "raw.transactions",
        "staging.cleaning_state",
    ]
    with pytest.raises(ValueError, match="not created empty"):
        create_table_sql("staging.transactions")


def test_derived_ddl_has_the_contract_s_columns_types_and_not_nulls():
    from pipeline.cleaning_state import ensure_state_table
    from pipeline.features import ensure_product_categories_table
    from pipeline.history.snapshots import ensure_history_table
    from pipeline.ingest import ensure_raw_schema
    from pipeline.live_scoring import ensure_prediction_log

    connection = duckdb.connect()
    for _ in range(2):  # creating again changes nothing
        ensure_raw_schema(connection)
        ensure_prediction_log(connection)
        ensure_product_categories_table(connection)
        ensure_history_table(connection)
        ensure_state_table(connection)
    for name, contract in TABLES.items():
        if not contract.created_empty:
            continue
        schema, table = name.split(".")
        columns = connection.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table],
        ).fetchall()
        assert columns == [(c.name, c.type) for c in contract.columns], name
    assert [
        c for c, nullable in _nullable(connection, "raw.transactions").items() if not nullable
    ] == [
        "invoice_ts",
        "line_amount",
        "source_file",
        "source_row",
        "ingested_at",
    ]
    log = _nullable(connection, "marts.prediction_log")
    assert not log["prediction_id"] and not log["segment_models"]
    assert log["imputed_features"] and log["churn_risk_pct"]


def test_comments_are_quoted_and_skip_absent_columns():
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA marts")
    connection.execute("CREATE TABLE marts.action_plan (rule_order BIGINT, action VARCHAR)")
    statements = comment_statements("marts.action_plan", {"rule_order", "action"})
    assert len(statements) == 3
    for statement in statements:
        connection.execute(statement)
    (comment,) = connection.execute(
        "SELECT comment FROM duckdb_columns() WHERE column_name = 'rule_order'"
    ).fetchone()
    assert comment == next(
        c.description for c in TABLES["marts.action_plan"].columns if c.name == "rule_order"
    )
    # A description with a quote in it is escaped.
    quoted = comment_statements("segments.customer_value", set())[0]
    assert "centroid''s value score" in quoted
