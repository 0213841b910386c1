"""Sensors: new or changed files in DATA_DIR/landing start a refresh."""

from __future__ import annotations

import json

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipeline.jobs import refresh_job
from pipeline.landing_watch import batch_key, changed_files, file_signatures
from pipeline.settings import Settings


@sensor(
    name="landing_files",
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts a refresh when a file appears or changes in DATA_DIR/landing.",
)
def landing_files_sensor(context: SensorEvaluationContext):
    landing_dir = Settings.from_env().landing_dir
    previous = json.loads(context.cursor) if context.cursor else {}
    current = file_signatures(landing_dir)
    changed = changed_files(previous, current)
    if not changed:
        return SkipReason(f"no new or changed files in {landing_dir}")
    context.update_cursor(json.dumps(current, sort_keys=True))
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return RunRequest(
        run_key=f"landing-{batch_key(current, changed)}",
        tags={"pipeline/trigger": "landing_sensor", "pipeline/files": shown[:250]},
    )
