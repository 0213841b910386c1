"""History layer: one snapshot of every customer per date, partitioned by snapshot date.

A partition is a snapshot date D: the features as of D (purchases before D), labelled and
scored with the current champion models, replacing D's rows in one transaction. Backfilling a
range of dates is one run (``BackfillPolicy.single_run``: DuckDB has one writer); the
champions are loaded once for the whole range.
"""

import datetime as dt

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetMaterialization,
    AssetObservation,
    BackfillPolicy,
    Config,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import (
    contract_checks,
    contract_evaluation,
    previous_row_count,
    validate_contract,
)
from pipeline.action_rules import load_configured_plan
from pipeline.history import (
    CADENCES,
    HISTORY_TABLE,
    apply_retention,
    backfill_dates,
    load_snapshot_models,
    retained_dates,
    write_snapshots,
)
from pipeline.settings import Settings
from resources.data_quality import DataQuality
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

GROUP = "history"
HISTORY_KEY = table_key(HISTORY_TABLE)
# Today is a complete snapshot date (purchases before midnight), so it is a partition too.
HISTORY_PARTITIONS = DailyPartitionsDefinition(
    start_date=Settings.from_env().history_start_date.isoformat(), end_offset=1
)
HISTORY_INPUTS = [
    "staging.transactions",
    "staging.returns",
    "features.product_categories",
    # The segment champions are registered by these assets; the scoring champions by training.
    "segments.customer_value",
    "segments.purchase_style",
    "segments.personas",
    "scores.churn",
    "scores.propensity",
]


class SnapshotConfig(Config):
    every: str = Field(
        default="day",
        description="Snapshot every day of the run's partitions, or only every 'week' or "
        "'month' from its first date (the dates between stay missing, and the migration marts "
        "and the BI snapshot follow in a run of their own).",
    )


@multi_asset(
    specs=[
        # Skippable: a run thinned to weekly or monthly dates reports each date it took.
        table_spec(
            HISTORY_TABLE,
            group=GROUP,
            deps=HISTORY_INPUTS,
            kinds=("duckdb", "mlflow"),
            skippable=True,
        )
    ],
    partitions_def=HISTORY_PARTITIONS,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_snapshots",
)
def customer_snapshots(
    context: AssetExecutionContext,
    config: SnapshotConfig,
    warehouse: DuckDBWarehouse,
    mlflow: ModelTracking,
    data_quality: DataQuality,
):
    """Every customer as of each snapshot date in the run's partitions: features, RFM segment,
    value segment, purchase style, persona, churn risk, purchase propensity and action, from
    the current champion models (their versions are on each row). Snapshots older than
    HISTORY_RETENTION_DAYS before the newest are then deleted. A run thinned to weekly or
    monthly dates runs the table's GX suite itself (see :func:`_validate_thinned`)."""
    if config.every not in CADENCES:
        raise ValueError(f"every must be one of {', '.join(CADENCES)}, got {config.every!r}")
    settings = Settings.from_env()
    keys = [dt.date.fromisoformat(key) for key in context.partition_keys]
    requested = backfill_dates(keys[0], keys[-1], config.every)
    models = load_snapshot_models(mlflow.client())
    plan = load_configured_plan(settings.action_rules_path)

    def progress(day: dt.date, customers: int) -> None:
        context.log.info("snapshot %s: %d customers", day.isoformat(), customers)

    with warehouse.writer() as connection:
        dates = retained_dates(connection, requested, settings.history_retention_days)
        if len(dates) < len(requested):
            context.log.info(
                "%d dates before %s not taken: HISTORY_RETENTION_DAYS=%d would delete them",
                len(requested) - len(dates),
                dates[0].isoformat() if dates else "the newest snapshot",
                settings.history_retention_days,
            )
        written = write_snapshots(
            connection, dates, models, plan, settings.horizon_days, progress=progress
        )
        deleted = apply_retention(connection, settings.history_retention_days)
        metadata = comment_and_describe(connection, HISTORY_TABLE, preview=False)
        (stored,) = connection.execute(
            "SELECT count(DISTINCT snapshot_date) FROM history.customer_snapshots"
        ).fetchone()
    metadata["snapshots_written"] = MetadataValue.md(
        markdown_rows([(d.isoformat(), n) for d, n in written.items()], ["date", "customers"])
    )
    metadata["dagster/row_count"] = sum(written.values())  # this run's dates
    metadata["model_versions"] = MetadataValue.json(models.versions())
    metadata["snapshot_dates_stored"] = int(stored)
    metadata["retention_days"] = settings.history_retention_days
    metadata["dates_deleted_by_retention"] = len(deleted)
    # Dagster cannot unmark a partition on its SQL storages (wipe_asset_partitions is not
    # implemented there): a deleted date is reported as an observation on its partition.
    for day in deleted:
        context.log_event(
            AssetObservation(
                asset_key=HISTORY_KEY,
                partition=day.isoformat(),
                metadata={
                    "deleted_by_retention": True,
                    "retention_days": metadata["retention_days"],
                },
            )
        )
    if len(dates) == len(keys):
        yield MaterializeResult(asset_key=HISTORY_KEY, metadata=metadata)
        return
    previous = previous_row_count(context.instance, HISTORY_KEY, newer=0)
    for day in dates:
        yield AssetMaterialization(
            asset_key=HISTORY_KEY,
            partition=day.isoformat(),
            metadata={**metadata, "dagster/row_count": written[day]},
        )
    yield from _validate_thinned(context, warehouse, data_quality, previous)


def _validate_thinned(context, warehouse, data_quality, previous):
    """The GX check of a run that took only some of its partitions' dates.

    Such a run reports each date as an event rather than as the asset's output (one output
    would mark every partition of the range), so Dagster skips the check step that follows
    the output. The check's suite runs here instead and its verdict is yielded as the check's
    evaluation (yielded, not logged: events logged before a failure are lost); a failed
    blocking expectation then fails the step, as the check would fail the run."""
    result = validate_contract(context, HISTORY_TABLE, warehouse, data_quality, previous)
    evaluation = contract_evaluation(HISTORY_TABLE, result)
    yield evaluation
    if (
        not evaluation.passed
        and evaluation.blocking
        and evaluation.severity == AssetCheckSeverity.ERROR
    ):
        raise Failure(
            description=f"{HISTORY_TABLE}: the snapshots failed their blocking checks: "
            f"{result.description}",
            metadata=result.metadata,
            allow_retries=False,  # the data fails, not the writer: a retry would fail again
        )


gx_checks = contract_checks(customer_snapshots)
