"""The schedule, the sensors, the automation conditions, retries and the run guard."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    Backoff,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    asset,
    build_sensor_context,
    evaluate_automation_conditions,
    materialize,
)

from assets.segment_models import SEGMENT_MODEL_KEYS
from orchestration.automation import RUN_GUARD_TAG, freshness_policy
from orchestration.definitions import defs
from orchestration.sensors import landing_files_sensor
from pipeline.settings import Settings
from resources.warehouse import WRITER_RETRY, DuckDBWarehouse
from tests.conftest import write_csv

PROJECT = Path(__file__).resolve().parent.parent


def test_nightly_schedule_runs_the_refresh_job_by_default():
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.job_name == "nightly"
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.tags["pipeline/trigger"] == "nightly_schedule"


def test_landing_sensor_is_on_by_default():
    sensor = defs.resolve_sensor_def("landing_files")
    assert sensor.default_status == DefaultSensorStatus.RUNNING


def _tick(cursor: str | None):
    context = build_sensor_context(cursor=cursor)
    result = landing_files_sensor(context)
    return result, context.cursor


def test_sensor_new_file_same_file_again_changed_file(landing):
    path = write_csv(landing / "day1.csv", ["1,A,X,1,12/1/2010 8:26,1,12346,UK"])
    first, cursor = _tick(None)
    assert isinstance(first, RunRequest)
    assert first.tags["pipeline/trigger"] == "landing_sensor"
    assert "day1.csv" in first.tags["pipeline/files"]

    again, same_cursor = _tick(cursor)
    assert not isinstance(again, RunRequest)
    assert "no new or changed files" in again.skip_message

    write_csv(path, ["1,A,X,2,12/1/2010 8:26,1,12346,UK"])
    os.utime(path, ns=(1, 2))  # a different modification time even on coarse clocks
    changed, _ = _tick(same_cursor)
    assert isinstance(changed, RunRequest)
    assert changed.run_key != first.run_key


def test_sensor_skips_new_customer_files(landing):
    (landing / "new_customers").mkdir()
    write_csv(landing / "new_customers" / "c.csv", ["1,A,X,1,12/1/2010 8:26,1,12346,UK"])
    result, _ = _tick(None)
    assert not isinstance(result, RunRequest)


# -- declarative automation -------------------------------------------------------------------

SATURDAY_NOON = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
ALL_KEYS = defs.resolve_all_asset_keys()
TRAINED = {k for k in ALL_KEYS if k.path[0] == "models"} | {
    AssetKey(["scores", "horizon_predictions"]),
    AssetKey(["scores", "model_evaluation"]),
}
# The demo truth's comparison of the written scores follows training, not each new day.
TRUTH = AssetKey(["scores", "truth_evaluation"])


def _requested(result) -> set[AssetKey]:
    return {key for key in ALL_KEYS if result.get_requested_partitions(key)}


def _report(instance, keys):
    for key in keys:
        instance.report_runless_asset_event(AssetMaterialization(key))


def _steady_state(instance):
    """Every asset materialized, and one tick evaluated on it."""
    _report(instance, ALL_KEYS)
    return evaluate_automation_conditions(defs, instance, evaluation_time=SATURDAY_NOON)


def test_a_new_raw_load_flows_downstream_with_the_champions_and_no_training():
    with DagsterInstance.ephemeral() as instance:
        first = _steady_state(instance)
        assert first.total_requested == 0
        _report(instance, [k for k in ALL_KEYS if k.path[0] == "raw"])
        result = evaluate_automation_conditions(
            defs,
            instance,
            evaluation_time=SATURDAY_NOON + dt.timedelta(minutes=1),
            cursor=first.cursor,
        )
    requested = _requested(result)
    for table in ("staging.transactions", "features.customer_rfm", "scores.churn",
                  "scores.propensity", "marts.customer_segments", "bi.customer_intel"):  # fmt: skip
        assert AssetKey(table.split(".")) in requested, table
    assert AssetKey(["exports", "segment_files"]) in requested
    assert not requested & TRAINED
    assert TRUTH not in requested
    assert not any(key.path[0] == "raw" for key in requested)


def test_on_a_fresh_machine_the_first_load_also_trains():
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs, instance, evaluation_time=SATURDAY_NOON)
        assert first.total_requested == 0  # nothing loaded yet: nothing can run
        _report(instance, [k for k in ALL_KEYS if k.path[0] == "raw"])
        result = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=first.cursor
        )
    requested = _requested(result)
    assert TRAINED <= requested
    assert AssetKey(["bi", "customer_intel"]) in requested
    assert AssetKey(["marts", "prediction_log"]) in requested  # created empty, published


def test_training_follows_the_retrain_cron():
    with DagsterInstance.ephemeral() as instance:
        first = _steady_state(instance)
        sunday = dt.datetime(2026, 12, 6, 3, 1, tzinfo=dt.UTC)  # RETRAIN_CRON 0 3 * * 0
        due = evaluate_automation_conditions(
            defs, instance, evaluation_time=sunday, cursor=first.cursor
        )
        later = evaluate_automation_conditions(
            defs, instance, evaluation_time=sunday + dt.timedelta(minutes=1), cursor=due.cursor
        )
    assert TRAINED <= _requested(due)
    # What the new champions label and score follows them (segments: the segment models').
    downstream = {"segments", "scores", "marts", "exports", "bi"}
    assert not _requested(due) - TRAINED - {k for k in ALL_KEYS if k.path[0] in downstream}
    assert AssetKey(["segments", "customer_value"]) in _requested(due)
    assert TRUTH in _requested(due)  # compares the new champions' scores, in the same run
    assert not _requested(later) & (TRAINED | {TRUTH})  # once per tick of the cron


def _check_result(instance, model: str, check: str, passed: bool):
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=AssetKey(["models", model]),
            check_name=check,
            passed=passed,
            severity=AssetCheckSeverity.WARN,
        )
    )


def test_a_decayed_champion_requests_a_retrain_once():
    with DagsterInstance.ephemeral() as instance:
        first = _steady_state(instance)
        _check_result(instance, "purchase_propensity", "challenger_beats_champion", False)
        kept = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=first.cursor
        )
        _check_result(instance, "purchase_propensity", "champion_not_decayed", False)
        decayed = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=kept.cursor
        )
        again = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=decayed.cursor
        )
    assert not _requested(kept) & TRAINED  # a challenger that lost is no reason to retrain
    # The decay of a scoring model retrains the scoring models; the segment models, which
    # have no out-of-time score to decay, keep their cron.
    assert TRAINED - SEGMENT_MODEL_KEYS <= _requested(decayed)
    assert TRUTH in _requested(decayed)  # the retrained champions' scores are compared
    assert not _requested(decayed) & SEGMENT_MODEL_KEYS
    assert not _requested(again) & TRAINED


def test_a_drifted_segment_model_requests_its_own_retrain_once():
    personas = AssetKey(["models", "customer_personas"])
    with DagsterInstance.ephemeral() as instance:
        first = _steady_state(instance)
        _check_result(instance, "customer_personas", "champion_not_decayed", False)
        drifted = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=first.cursor
        )
        again = evaluate_automation_conditions(
            defs, instance, evaluation_time=SATURDAY_NOON, cursor=drifted.cursor
        )
    assert _requested(drifted) & TRAINED == {personas}
    assert AssetKey(["segments", "personas"]) in _requested(drifted)  # relabelled after it
    assert not _requested(again) & TRAINED


def test_consumers_tables_carry_the_freshness_policy(monkeypatch):
    graph = defs.resolve_asset_graph()
    policies = {
        node.key.to_user_string(): node.freshness_policy
        for node in graph.asset_nodes
        if node.freshness_policy
    }
    assert {"marts/customer_segments", "exports/segment_files", "bi/customer_intel"} <= set(
        policies
    )
    assert not any(key.startswith(("staging/", "raw/", "models/")) for key in policies)
    assert policies["bi/customer_intel"].fail_window.to_timedelta() == dt.timedelta(hours=26)
    monkeypatch.setenv("FRESHNESS_HOURS", "6")
    assert freshness_policy(Settings.from_env()).fail_window.to_timedelta() == dt.timedelta(hours=6)


def test_the_automation_sensor_is_on_and_its_runs_take_the_run_guard():
    sensor = defs.resolve_sensor_def("automation")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.run_tags[RUN_GUARD_TAG] == "true"
    for name in ("refresh", "nightly", "ingest", "score_new_customers"):
        assert defs.resolve_job_def(name).tags[RUN_GUARD_TAG] == "true", name
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": RUN_GUARD_TAG, "value": "true", "limit": 1} in limits
    assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] >= 1


def test_writing_steps_retry_with_backoff():
    job = defs.resolve_job_def("refresh")
    policies = {node.name: node.definition.retry_policy for node in job.graph.node_dict.values()}
    for step in ("raw_ingest", "staging_clean", "train_models", "score_churn"):
        policy = policies[step]
        assert policy is not None and policy.max_retries >= 2, step
        assert policy.backoff == Backoff.EXPONENTIAL


def test_the_nightly_job_scores_and_judges_the_champions_without_training():
    job = defs.resolve_job_def("nightly")
    keys = job.asset_layer.selected_asset_keys
    assert AssetKey(["scores", "churn"]) in keys
    assert not keys & TRAINED
    assert (
        TRUTH not in keys
        and TRUTH in defs.resolve_job_def("refresh").asset_layer.selected_asset_keys
    )
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert "champion_not_decayed" in checks
    # The migration marts read only the history: the history job after the run rebuilds them.
    migration = {
        AssetKey(["marts", "segment_transitions"]),
        AssetKey(["marts", "customer_movements"]),
    }
    assert not keys & migration
    history_job = defs.resolve_job_def("history_snapshot")
    assert migration <= history_job.asset_layer.selected_asset_keys


def test_a_step_locked_out_by_another_process_recovers_once_the_lock_is_released(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(database)).close()

    @asset(pool="duckdb_writer", retry_policy=WRITER_RETRY)
    def written(warehouse: DuckDBWarehouse) -> None:
        with warehouse.writer() as connection:
            connection.execute("CREATE OR REPLACE TABLE t AS SELECT 42 AS answer")

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = materialize(
            [written],
            resources={"warehouse": DuckDBWarehouse(path=str(database), lock_timeout_s=0.5)},
            raise_on_error=False,
        )
    finally:
        holder.wait(timeout=30)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert result.success and retries
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute("SELECT answer FROM t").fetchall() == [(42,)]


# Holds the warehouse's writer lock for 6 s in another process, then lets go.
HOLD_LOCK = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(6)
connection.close()
"""
