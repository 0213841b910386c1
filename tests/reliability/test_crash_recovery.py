"""A refresh killed with SIGKILL in the middle of training (as the OOM killer or a reboot
would) is recovered by the next refresh without anyone touching the Dagster instance: the
dead run is marked failed, its pool slot and its open MLflow run are released, and the
tables come out equal to those of a refresh that was never interrupted."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from pipeline.demo import write_demo_data
from pipeline.table_fingerprints import differences, fingerprint_tables

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("customer-intel")


def environment(data_dir: Path, dagster_home: Path) -> dict[str, str]:
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(
        DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(dagster_home),
        FRESHNESS_REFERENCE_DATE="2011-12-10",
        DUCKDB_THREADS="2",
        # The refresh alone: the history snapshot the command line takes after it is stamped
        # with the time it ran, so two runs' snapshots never have the same content.
        HISTORY_AFTER_REFRESH="false",
    )
    return env


def refresh(env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), "refresh"],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# The MLflow runs of the train_models step (the segment models log runs of their own).
TRAIN_MODELS_RUNS = (
    "models/customer_churn",
    "models/purchase_propensity",
    "models/product_category_propensity",
)


def running_mlflow_runs(data_dir: Path, assets: tuple[str, ...] | None = None) -> int:
    """MLflow runs left RUNNING (of the Dagster ``assets`` only, when given)."""
    store = data_dir / "mlflow" / "mlflow.db"
    if not store.exists():
        return 0
    query = "SELECT count(*) FROM runs r WHERE r.status = 'RUNNING'"
    if assets is not None:
        query += (
            " AND EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid "
            f"AND t.key = 'dagster_asset_key' AND t.value IN ({', '.join('?' * len(assets))}))"
        )
    with sqlite3.connect(store, timeout=5) as connection:
        try:
            return connection.execute(query, assets or ()).fetchone()[0]
        except sqlite3.OperationalError:  # the store's tables are being created
            return 0


def fingerprints(data_dir: Path):
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        return fingerprint_tables(connection)


def test_a_refresh_killed_mid_training_is_recovered_by_the_next(tmp_path):
    landing = tmp_path / "landing"
    write_demo_data(landing_dir=landing, truth_dir=tmp_path / "demo", n_rows=20_000, seed=7)

    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    for data_dir in (clean_dir, killed_dir):
        shutil.copytree(landing, data_dir / "landing", copy_function=shutil.copy2)
    clean_env = environment(clean_dir, tmp_path / "clean_home")
    killed_env = environment(killed_dir, tmp_path / "killed_home")

    uninterrupted = refresh(clean_env)
    assert uninterrupted.returncode == 0, uninterrupted.stdout[-3000:]

    doomed = subprocess.Popen(
        [str(CLI), "refresh"],
        env=killed_env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        # Kill the moment one of train_models' MLflow runs is open (a read of the store
        # takes milliseconds; the segment models' runs do not count).
        while running_mlflow_runs(killed_dir, TRAIN_MODELS_RUNS) == 0:
            assert doomed.poll() is None, "the refresh ended before it could be killed"
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        doomed.kill()
    with DagsterInstance.from_config(killed_env["DAGSTER_HOME"]) as instance:
        (dead_run,) = instance.get_runs()
        assert dead_run.status == DagsterRunStatus.STARTED  # nobody reported its end
    assert running_mlflow_runs(killed_dir) > 0

    started = time.monotonic()
    recovered = refresh(killed_env)
    assert recovered.returncode == 0, recovered.stdout[-3000:]
    assert time.monotonic() - started < 600

    with DagsterInstance.from_config(killed_env["DAGSTER_HOME"]) as instance:
        dead_run = instance.get_run_by_id(dead_run.run_id)
        assert dead_run.status == DagsterRunStatus.FAILURE
        (failure,) = instance.all_logs(dead_run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        assert "is no longer running" in failure.dagster_event.message
        assert not instance.event_log_storage.get_concurrency_run_ids()
    assert running_mlflow_runs(killed_dir) == 0
    with sqlite3.connect(killed_dir / "mlflow" / "mlflow.db") as connection:
        (ended,) = connection.execute(
            "SELECT count(*) FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE r.status = 'FAILED' AND t.key = 'ended_by'"
        ).fetchone()
    assert ended >= 1
    assert differences(fingerprints(clean_dir), fingerprints(killed_dir)) == {}
