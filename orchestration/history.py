"""When history snapshots are taken: after every refresh and on a cadence, and on demand.

- ``history_snapshot`` is the job: the snapshot partition(s), the migration marts and the
  BI snapshot, so one run leaves the published snapshot with the new history.
- The sensor ``history_after_refresh`` (HISTORY_AFTER_REFRESH, default on) snapshots the date
  of the features after each successful ``refresh`` or ``nightly`` run.
- The schedule ``history_snapshot`` (HISTORY_SNAPSHOT_CRON, default Sunday 04:00) snapshots
  it on its own, so a week's snapshot is taken even when no refresh job ran (files loaded by
  the landing sensor).
- A range of past dates is one run: a backfill in the UI (single-run backfill policy) or
  ``customer-intel history --from ... --to ...``.

The snapshot date is the features' as-of date (AS_OF_DATE, else the day after the last
purchase), read from the latest materialization of features.customer_rfm.
"""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    run_status_sensor,
    schedule,
)

from assets.bi import SNAPSHOT_ASSET
from assets.common import table_key
from assets.history import HISTORY_KEY, HISTORY_PARTITIONS
from assets.marts import MOVEMENTS, TRANSITIONS
from orchestration.automation import RUN_GUARD_TAG, RUN_GUARD_VALUE
from orchestration.jobs import nightly_job, refresh_job
from pipeline.history import backfill_dates
from pipeline.settings import Settings

FEATURES_KEY = AssetKey(["features", "customer_rfm"])
# What follows a new snapshot in the same run: the migration marts and the BI snapshot.
HISTORY_FOLLOWERS = (table_key(TRANSITIONS), table_key(MOVEMENTS), table_key(SNAPSHOT_ASSET))
HISTORY_SELECTION = AssetSelection.assets(HISTORY_KEY, *HISTORY_FOLLOWERS)

history_snapshot_job = define_asset_job(
    name="history_snapshot",
    selection=HISTORY_SELECTION,
    partitions_def=HISTORY_PARTITIONS,
    executor_def=in_process_executor,
    description="Snapshot every customer as of the partition's date(s) with the champion "
    "models, rebuild the migration marts and publish the BI snapshot.",
    tags={"pipeline/trigger": "history", RUN_GUARD_TAG: RUN_GUARD_VALUE},
)

_settings = Settings.from_env()


def current_snapshot_date(instance: DagsterInstance) -> dt.date | None:
    """The as-of date of the latest features.customer_rfm materialization, if any."""
    event = instance.get_latest_materialization_event(FEATURES_KEY)
    materialization = event.asset_materialization if event else None
    if materialization is None or "as_of" not in materialization.metadata:
        return None
    value = materialization.metadata["as_of"]
    return dt.datetime.fromisoformat(str(getattr(value, "value", value))).date()


def snapshot_request(instance: DagsterInstance, trigger: str) -> RunRequest | SkipReason:
    """A run of ``history_snapshot`` for the features' date, or why there is none."""
    day = current_snapshot_date(instance)
    if day is None:
        return SkipReason("features.customer_rfm has no as_of yet: run `refresh` first")
    key = day.isoformat()
    if not HISTORY_PARTITIONS.has_partition_key(key):
        return SkipReason(
            f"the features' date {key} is outside the history's partitions (from "
            f"HISTORY_START_DATE {_settings.history_start_date.isoformat()} to today)"
        )
    return RunRequest(
        run_key=f"{trigger}:{key}:{dt.datetime.now(dt.UTC):%Y%m%d%H%M}",
        partition_key=key,
        tags={"pipeline/trigger": trigger},
    )


@run_status_sensor(
    name="history_after_refresh",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[refresh_job, nightly_job],
    request_job=history_snapshot_job,
    default_status=(
        DefaultSensorStatus.RUNNING
        if _settings.history_after_refresh
        else DefaultSensorStatus.STOPPED
    ),
    description="After each successful refresh or nightly run, snapshot the customers as of "
    "the features' date (HISTORY_AFTER_REFRESH).",
)
def history_after_refresh(context):
    return snapshot_request(context.instance, "history_after_refresh")


@schedule(
    name="history_snapshot",
    cron_schedule=_settings.history_snapshot_cron,
    execution_timezone=_settings.timezone,
    job=history_snapshot_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Snapshot the customers as of the features' date on HISTORY_SNAPSHOT_CRON "
    "(default Sunday 04:00).",
)
def history_snapshot_schedule(context: ScheduleEvaluationContext):
    return snapshot_request(context.instance, "history_schedule")


def backfill_run(start: dt.date, end: dt.date, every: str = "day") -> tuple[dict, dict]:
    """The run tags and run config of a backfill from ``start`` to ``end``: one run over the
    partition range (as the UI's single-run backfill), thinned to dates a week or a month
    apart by the snapshot's ``every``."""
    for day in (start, end):
        if not HISTORY_PARTITIONS.has_partition_key(day.isoformat()):
            raise ValueError(
                f"{day} is outside the history's partitions (HISTORY_START_DATE "
                f"{_settings.history_start_date.isoformat()} to today)"
            )
    last = backfill_dates(start, end, every)[-1]
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    return tags, {"ops": {"customer_snapshots": {"config": {"every": every}}}}
