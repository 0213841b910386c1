"""The nightly schedule (cron and timezone from REFRESH_CRON and PIPELINE_TIMEZONE): ingest
and rebuild everything with the champion models. Training has its own cadence
(RETRAIN_CRON, see orchestration/automation.py)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import nightly_job
from pipeline.settings import Settings

_settings = Settings.from_env()

nightly_refresh_schedule = ScheduleDefinition(
    name="nightly_refresh",
    job=nightly_job,
    cron_schedule=_settings.refresh_cron,
    execution_timezone=_settings.timezone,
    default_status=DefaultScheduleStatus.RUNNING,
    tags={"pipeline/trigger": "nightly_schedule"},
    description="Every night: ingest new files and rebuild features, segments, scores (with "
    "the champion models), marts, exports and the BI snapshot.",
)
