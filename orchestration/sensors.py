"""Sensors: new or changed files in DATA_DIR/landing start the ingest job (the eager
automation conditions rebuild what depends on it); new files in
DATA_DIR/landing/new_customers/ start live scoring; a failed run sends an alert (webhook
and/or e-mail) when configured."""

from __future__ import annotations

import json

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration.jobs import ingest_job, score_new_customers_job
from pipeline.alerts import AlertSettings, FailureAlert, send_alert
from pipeline.ingest.discovery import batch_key, changed_files, file_signatures
from pipeline.settings import Settings


@sensor(
    name="landing_files",
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Loads a file that appears or changes in DATA_DIR/landing (job `ingest`); "
    "what depends on the raw layer follows by its automation condition.",
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


@run_failure_sensor(
    name="failure_alerts",
    minimum_interval_seconds=30,
    default_status=(
        DefaultSensorStatus.RUNNING
        if AlertSettings.from_env().enabled
        else DefaultSensorStatus.STOPPED
    ),
    description="Posts a failed run (job, failed steps, the error's first lines, a link to "
    "the run) to ALERT_WEBHOOK_URL (Slack-compatible JSON) and/or e-mails ALERT_EMAIL_TO via "
    "SMTP_HOST; off when neither is configured.",
)
def failure_alerts_sensor(context: RunFailureSensorContext):
    settings = AlertSettings.from_env()
    if not settings.enabled:
        return SkipReason("no ALERT_WEBHOOK_URL nor ALERT_EMAIL_TO + SMTP_HOST configured")
    sent = send_alert(failure_alert(context), settings)
    context.log.info("alert for run %s: %s", context.dagster_run.run_id, "; ".join(sent))
    return None


def failure_alert(context: RunFailureSensorContext) -> FailureAlert:
    """The alert of a failed run: its job, failed steps and the first error's message."""
    steps = context.get_step_failure_events()
    errors = [_error_text(event) for event in steps]
    if not errors:  # the run failed outside any step (e.g. its worker died)
        errors = [context.failure_event.message or "the run failed"]
    run = context.dagster_run
    return FailureAlert(
        job=run.job_name,
        run_id=run.run_id,
        failed_steps=tuple(event.step_key for event in steps),
        error=errors[0],
        tags=dict(run.tags),
    )


def _error_text(event) -> str:
    error = event.event_specific_data.error
    while error.cause is not None:  # the user's exception, not Dagster's wrapper
        error = error.cause
    return error.message
