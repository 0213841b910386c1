"""Sensors: new or changed files in DATA_DIR/landing start a refresh; new files in
DATA_DIR/landing/new_customers/ start live scoring."""

from __future__ import annotations

import json

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipeline.ingest.discovery import batch_key, changed_files, file_signatures
from pipeline.jobs import refresh_job, score_new_customers_job
from pipeline.settings import Settings


@sensor(
    name="landing_files",
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts a refresh when a file appears or changes in DATA_DIR/landing.",
)
def landing_files_sensor(context: SensorEvaluationContext):
    return _request_for_changes(
        context, Settings.from_env().landing_dir, "landing", "landing_sensor"
    )


@sensor(
    name="new_customers",
    job=score_new_customers_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Scores new customers when a file appears or changes in "
    "DATA_DIR/landing/new_customers/.",
)
def new_customers_sensor(context: SensorEvaluationContext):
    return _request_for_changes(
        context, Settings.from_env().new_customers_dir, "new-customers", "new_customers_sensor"
    )


def _request_for_changes(context: SensorEvaluationContext, folder, key_prefix: str, trigger: str):
    previous = json.loads(context.cursor) if context.cursor else {}
    current = file_signatures(folder)
    changed = changed_files(previous, current)
    if not changed:
        return SkipReason(f"no new or changed files in {folder}")
    context.update_cursor(json.dumps(current, sort_keys=True))
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return RunRequest(
        run_key=f"{key_prefix}-{batch_key(current, changed)}",
        tags={"pipeline/trigger": trigger, "pipeline/files": shown[:250]},
    )
