"""A sensor that fails dead runs within a minute or two, even when no new run comes along.

The next run that takes the warehouse's run lock recovers runs whose process died
(resources/run_recovery.py); this sensor does the same from the daemon every minute, so a
killed run shows as failed, and its pool slot is free, without waiting for the next run.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from resources.run_recovery import recover_dead_runs


@sensor(
    name="dead_runs",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died (killed, crashed, rebooted) as failed and "
    "frees their duckdb_writer pool slots.",
)
def dead_runs_sensor(context: SensorEvaluationContext):
    recovered = recover_dead_runs(context.instance, current_run_id=None)
    for run in recovered:
        context.log.warning(f"run {run.run_id} ({run.job_name}): pid {run.pid} is gone")
    if not recovered:
        return SkipReason("every run in progress has a live process")
    return SkipReason(
        f"marked {len(recovered)} dead run(s) failed: " + ", ".join(run.run_id for run in recovered)
    )
