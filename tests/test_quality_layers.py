"""The Great Expectations suites of the features, segments, scores and marts tables pass on
the tables a real refresh wrote, and fail when a key is duplicated or a value leaves its
range."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipeline import quality
from pipeline.catalog import TABLES, published_tables

MIGRATION_MARTS = ("marts.segment_transitions", "marts.customer_movements")

LATER_LAYERS = [
    name
    for name in quality.suite_names()
    if name.split(".")[0] in {"features", "segments", "scores", "marts"}
    # Filled by the API and by snapshots a refresh does not take: tested on their own rows
    # (tests/test_live_scoring.py, tests/test_history_marts.py).
    and name not in {"marts.prediction_log", *MIGRATION_MARTS}
]


@pytest.fixture(scope="module")
def warehouse_copy(refreshed, tmp_path_factory):
    """A private copy of the refreshed warehouse, free to corrupt."""
    path = tmp_path_factory.mktemp("quality") / "warehouse.duckdb"
    shutil.copy(refreshed[0] / "warehouse.duckdb", path)
    with duckdb.connect(str(path)) as connection:
        yield connection


def test_every_table_the_refresh_wrote_has_a_contract(refreshed):
    """An asset that writes a table no contract declares fails here (the asset keys are
    matched with the contracts in test_definitions.py)."""
    data_dir = refreshed[0]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        written = {
            f"{schema}.{table}"
            for schema, table in connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
    assert sorted(written - set(TABLES)) == []
    assert written >= set(published_tables()) - {"marts.prediction_log"}
    snapshot = data_dir / "bi" / "customer_intel.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        copied = {
            f"{schema}.{table}"
            for schema, table in connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
        }
    assert copied - {"main.snapshot_info"} <= set(published_tables())


def validate(connection, table):
    return quality.validate_table(connection, table, quality.suite_for(table), results_dir=None)


@pytest.mark.parametrize("table", LATER_LAYERS)
def test_suite_passes_on_the_refreshed_table_and_fails_on_a_duplicate(warehouse_copy, table):
    assert validate(warehouse_copy, table).success
    warehouse_copy.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
    report = validate(warehouse_copy, table)
    assert not report.success
    assert any("unique" in outcome.expectation_type for outcome in report.failures)


def test_probability_out_of_range_fails_the_scores_suite(warehouse_copy):
    warehouse_copy.execute(
        "CREATE OR REPLACE TABLE scores.propensity AS SELECT * REPLACE "
        "(CASE WHEN customer_id = (SELECT min(customer_id) FROM scores.propensity) "
        "THEN 1.5 ELSE purchase_probability END AS purchase_probability) FROM scores.propensity"
    )
    report = validate(warehouse_copy, "scores.propensity")
    failed = {(o.expectation_type, o.column) for o in report.failures}
    assert ("expect_column_values_to_be_between", "purchase_probability") in failed


def test_prediction_log_suite_catches_a_repeated_input(warehouse_copy):
    from pipeline.live_scoring import ensure_prediction_log

    ensure_prediction_log(warehouse_copy)
    row = (
        "INSERT INTO marts.prediction_log (prediction_id, input_key, customer_id, source, "
        "input_mode, inputs, predicted_at, predicted_at_local, display_timezone, features_as_of, "
        "purchase_probability, churn_model, propensity_model, segment_models) VALUES "
        "($id, 'same-input', 'C1', 'f.csv', 'rfm', '{}', now()::TIMESTAMP, now()::TIMESTAMP, "
        "'UTC', now()::TIMESTAMP, 0.5, 'c v1', 'p v1', 's v1')"
    )
    warehouse_copy.execute(row, {"id": "p1"})
    assert validate(warehouse_copy, "marts.prediction_log").success
    warehouse_copy.execute(row, {"id": "p2"})
    report = validate(warehouse_copy, "marts.prediction_log")
    assert not report.success
    assert any(o.column == "input_key" for o in report.failures)
