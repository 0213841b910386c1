"""The nightly refresh schedule (cron and timezone from REFRESH_CRON and PIPELINE_TIMEZONE)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import refresh_job
from pipeline.settings import Settings

_settings = Settings.from_env()

nightly_refresh_schedule = ScheduleDefinition(
    name="nightly_refresh",
    job=refresh_job,
    cron_schedule=_settings.refresh_cron,
    execution_timezone=_settings.timezone,
    default_status=DefaultScheduleStatus.RUNNING,
    tags={"pipeline/trigger": "nightly_schedule"},
    description="Refresh everything every night: ingest new files, rebuild features, "
    "segments, models, marts and the BI snapshot.",
)
