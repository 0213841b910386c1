"""The dead_runs sensor fails a run whose process was killed and frees its pool slot, and
leaves a live run alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, build_sensor_context

from orchestration.recovery import dead_runs_sensor

PROJECT = Path(__file__).resolve().parents[2]
HANGING_RUN = """
import time
from dagster import DagsterInstance, job, op

@op(pool="duckdb_writer")
def hang():
    print("HANGING", flush=True)
    time.sleep(3600)

@job
def doomed():
    hang()

with DagsterInstance.get() as instance:
    doomed.execute_in_process(instance=instance)
"""


def test_a_killed_run_is_failed_and_its_slot_freed_while_a_live_one_is_left(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT / "dagster.yaml", home / "dagster.yaml")
    run = subprocess.Popen(
        [sys.executable, "-c", HANGING_RUN],
        env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(home)},
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert run.stdout.readline().strip() == "HANGING"
        with DagsterInstance.from_config(str(home)) as instance:
            (record,) = instance.get_runs()
            assert instance.event_log_storage.get_concurrency_run_ids() == {record.run_id}
            alive = dead_runs_sensor(build_sensor_context(instance=instance))
            assert "live process" in alive.skip_message
            assert instance.get_run_by_id(record.run_id).status == DagsterRunStatus.STARTED

            run.kill()
            run.wait(timeout=10)
            dead = dead_runs_sensor(build_sensor_context(instance=instance))
            assert record.run_id in dead.skip_message
            assert instance.get_run_by_id(record.run_id).status == DagsterRunStatus.FAILURE
            assert not instance.event_log_storage.get_concurrency_run_ids()
            (failure,) = instance.all_logs(record.run_id, of_type=DagsterEventType.RUN_FAILURE)
            assert f"(pid {run.pid}) is no longer running" in failure.dagster_event.message
    finally:
        run.kill()
        run.wait()
