"""The segment models: fitted, logged and registered in MLflow on the training cadence.

One asset per model (``models/customer_value_segments``, ``models/purchase_style_segments``,
``models/customer_personas``), each fitted on the customer features of that moment; the
newest fit becomes the champion (pipeline/segmentation/tracking.py). They follow the
training cadence with the other models (RETRAIN_CRON, on demand, or when no model exists
yet; orchestration/automation.py), so the nightly run labels customers with the same
champions every night: a customer moves segment because their behaviour changed, not
because the clusters moved, and the registry does not gain three versions a night.
The segment tables (assets/segments.py) are labelled by these champions.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    multi_asset,
    multi_asset_check,
)

from assets.common import markdown_rows, table_key
from assets.models import DECAY_CHECK, decay_check_key, model_key, model_spec
from pipeline.segmentation import RegisteredSegmentModel, log_segment_model
from pipeline.segmentation.build import (
    SEGMENT_TABLES,
    FittedSegments,
    SegmentTable,
    assessed_share,
    label_sizes,
)
from pipeline.segmentation.drift import DRIFT_TOLERANCE, fit_input_metrics, segment_drift
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

DESCRIPTIONS = {
    "segments.customer_value": "Customer-value segments: k-means (k=3) on standardized log "
    "recency, frequency and monetary, clusters named Low / Mid / High by their value.",
    "segments.purchase_style": "Purchase-style segments: Bulk by k-means on the quartiles of "
    "line quantity, Anomaly by an isolation forest plus a materiality rule.",
    "segments.personas": "Personas: k-means purchase profiles named after the nearest "
    "archetype (Loyal, Big Spender, Occasional), with the New and At Risk windows.",
}


def train_segment_model(
    context: AssetExecutionContext, tracking: ModelTracking, connection, segment: SegmentTable
) -> tuple[FittedSegments, RegisteredSegmentModel]:
    """Fit ``segment``'s model on the warehouse's features, log it to MLflow in a run tagged
    with the Dagster run, and register it as the new champion."""
    fitted = segment.fit(connection)
    tags = {
        "dagster_run_id": context.run_id,
        "dagster_asset_key": model_key(segment.model_name).to_user_string(),
    }
    with tracking.run(segment.model_name, tags=tags):
        logged = log_segment_model(
            tracking.client(),
            fitted.model,
            model_name=fitted.model_name,
            quality=fitted.quality,
            centroids=fitted.centroids,
            extra_metrics=fit_input_metrics(fitted.model),
            tags=tags,
        )
    return fitted, logged


def training_metadata(fitted: FittedSegments, logged: RegisteredSegmentModel) -> dict:
    quality = fitted.quality
    metadata = {
        "model": MetadataValue.text(logged.summary),
        "model_uri": MetadataValue.text(f"models:/{logged.model_name}/{logged.version}"),
        "customers": MetadataValue.int(quality.n_customers),
        "segment_sizes_at_fit": MetadataValue.md(
            markdown_rows(sorted(quality.sizes.items()), ["segment", "customers"])
        ),
        "centroids": MetadataValue.md(
            markdown_rows(fitted.centroids.itertuples(index=False), list(fitted.centroids.columns))
        ),
        "mlflow_seconds": MetadataValue.float(round(logged.seconds, 2)),
    }
    if quality.silhouette is not None:
        metadata["silhouette"] = MetadataValue.float(round(quality.silhouette, 4))
    if quality.davies_bouldin is not None:
        metadata["davies_bouldin"] = MetadataValue.float(round(quality.davies_bouldin, 4))
    return metadata


def _segment_model_asset(segment: SegmentTable):
    @multi_asset(
        specs=[
            model_spec(
                segment.model_name,
                description=DESCRIPTIONS[segment.table]
                + f" Labels {segment.table}; refitted on the training cadence.",
                inputs=("features.customer_rfm", *segment.inputs),
            )
        ],
        pool=WRITER_POOL,
        retry_policy=WRITER_RETRY,
        name=f"train_{segment.model_name}",
    )
    def train(context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking):
        with warehouse.writer() as connection:
            fitted, logged = train_segment_model(context, mlflow, connection, segment)
        yield MaterializeResult(
            asset_key=model_key(segment.model_name), metadata=training_metadata(fitted, logged)
        )

    return train


segment_model_assets = [_segment_model_asset(s) for s in SEGMENT_TABLES.values()]
SEGMENT_MODEL_KEYS = {model_key(s.model_name) for s in SEGMENT_TABLES.values()}


# -- the decay signal: drift of the segment shares (pipeline/segmentation/drift.py) ----------

SEGMENT_DRIFT_CHECKS = [decay_check_key(s.model_name) for s in SEGMENT_TABLES.values()]


@multi_asset_check(
    name="segment_models_not_drifted",
    specs=[
        AssetCheckSpec(
            DECAY_CHECK,
            asset=model_key(segment.model_name),
            # Judged on the table the champion has just labelled (downstream of the model,
            # so the check cannot block; the segment models' retrain condition takes any of
            # their failed checks: orchestration/automation.py).
            additional_deps=[table_key(segment.table)],
            automation_condition=AutomationCondition.eager(),
            description=f"The customers' shares over the labels of {segment.table} moved by "
            f"at most {DRIFT_TOLERANCE:.2f} (total variation) since the champion's fit; a "
            "warning requests a retrain.",
        )
        for segment in SEGMENT_TABLES.values()
    ],
    can_subset=True,
)
def segment_models_not_drifted(
    context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    selected = context.selected_asset_check_keys
    client = mlflow.client()
    with warehouse.reader() as connection:
        today = {
            segment.model_name: (
                label_sizes(connection, segment),
                assessed_share(connection, segment),
            )
            for segment in SEGMENT_TABLES.values()
            if decay_check_key(segment.model_name) in selected
        }
    for model_name, (sizes, assessed) in today.items():
        drift = segment_drift(client, model_name, sizes, assessed_now=assessed)
        metadata = {
            "reason": drift.reason,
            "champion_version": drift.champion_version or "none",
            "tolerance": drift.tolerance,
            "shares": MetadataValue.md(
                markdown_rows(
                    [(label, round(fit, 4), round(now, 4)) for label, fit, now in drift.shares],
                    ["label", "share at the fit", "share now"],
                )
            ),
        }
        if drift.distance is not None:
            metadata["distance"] = round(drift.distance, 4)
        if drift.assessed is not None:
            metadata["assessed_share_at_fit"] = round(drift.assessed[0], 4)
            metadata["assessed_share_now"] = round(drift.assessed[1], 4)
        yield AssetCheckResult(
            asset_key=model_key(model_name),
            check_name=DECAY_CHECK,
            passed=not drift.drifted,
            severity=AssetCheckSeverity.WARN,
            metadata=metadata,
        )
