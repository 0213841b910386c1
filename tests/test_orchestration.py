"""The nightly schedule and the landing sensor."""

from __future__ import annotations

import os

from dagster import DefaultScheduleStatus, DefaultSensorStatus, RunRequest, build_sensor_context

from orchestration.definitions import defs
from orchestration.sensors import landing_files_sensor
from tests.conftest import write_csv


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
