"""Segments layer: customer value, purchase style and personas, with their MLflow models.

Each asset fits its model on features.customer_rfm (pipeline/segmentation), logs and registers
it in MLflow (the newest fit becomes the champion that assign_segments loads), writes its
table stamped with the model version, and reports segment sizes, centroids and separation.
On generated demo data (DATA_DIR/demo/customer_truth.parquet present) it also reports how
well the segments recover the generator's truth.
"""

from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.demo import TRUTH_FILE
from pipeline.segmentation import (
    PERSONA_TABLE,
    PERSONAS,
    PURCHASE_STYLES,
    STYLE_TABLE,
    VALUE_SEGMENTS,
    VALUE_TABLE,
    FittedSegments,
    RegisteredSegmentModel,
    fit_customer_value,
    fit_personas,
    fit_purchase_style,
    log_segment_model,
    write_segments,
)
from pipeline.segmentation.evaluation import (
    SEGMENT_SIZES_HEADER,
    SPEND_BY_SEGMENT_HEADER,
    segment_sizes,
    style_recovery,
    value_ordering,
)
from pipeline.segmentation.labels import value_style_markdown
from pipeline.settings import Settings
from pipeline.sql_text import one_row, qualified
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

GROUP = "segments"
KINDS = ("duckdb", "scikitlearn", "mlflow")


def _truth_path() -> Path | None:
    """The demo generator's truth file, when this DATA_DIR holds demo data."""
    path = Settings.from_env().demo_dir / TRUTH_FILE
    return path if path.exists() else None


def _log_model(
    context: AssetExecutionContext, tracking: ModelTracking, fitted: FittedSegments
) -> RegisteredSegmentModel:
    """Log and register the fitted model in an MLflow run tagged with the Dagster run."""
    tags = {
        "dagster_run_id": context.run_id,
        "dagster_asset_key": table_key(fitted.table).to_user_string(),
    }
    with tracking.run(fitted.table, tags=tags):
        return log_segment_model(
            tracking.client(),
            fitted.model,
            model_name=fitted.model_name,
            quality=fitted.quality,
            centroids=fitted.centroids,
            tags=tags,
        )


def _segment_metadata(
    connection,
    fitted: FittedSegments,
    logged: RegisteredSegmentModel,
    column: str,
    labels: tuple[str, ...],
) -> dict:
    quality = fitted.quality
    metadata = comment_and_describe(connection, fitted.table)
    metadata["segment_sizes"] = MetadataValue.md(
        markdown_rows(segment_sizes(connection, fitted.table, column, labels), SEGMENT_SIZES_HEADER)
    )
    metadata["centroids"] = MetadataValue.md(
        markdown_rows(fitted.centroids.itertuples(index=False), list(fitted.centroids.columns))
    )
    if quality.silhouette is not None:
        metadata["silhouette"] = MetadataValue.float(round(quality.silhouette, 4))
    if quality.davies_bouldin is not None:
        metadata["davies_bouldin"] = MetadataValue.float(round(quality.davies_bouldin, 4))
    metadata["model"] = MetadataValue.text(logged.summary)
    metadata["model_uri"] = MetadataValue.text(f"models:/{logged.model_name}/{logged.version}")
    metadata["mlflow_seconds"] = MetadataValue.float(round(logged.seconds, 2))
    return metadata


@multi_asset(
    specs=[table_spec(VALUE_TABLE, group=GROUP, deps=["features.customer_rfm"], kinds=KINDS)],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_value",
)
def customer_value(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Low / Mid / High value per customer: k-means (k=3) on standardized log recency,
    frequency and monetary, clusters named by their centroid's value score; the model is
    registered in MLflow as customer_value_segments."""
    with warehouse.writer() as connection:
        fitted = fit_customer_value(connection)
        logged = _log_model(context, mlflow, fitted)
        write_segments(connection, fitted, logged.version)
        metadata = _segment_metadata(connection, fitted, logged, "value_segment", VALUE_SEGMENTS)
        truth = _truth_path()
        if truth is not None:
            ordering = value_ordering(connection, truth)
            for name, value in ordering.metrics().items():
                metadata[f"demo_truth/{name}"] = MetadataValue.float(value)
            metadata["demo_truth/spend_by_segment"] = MetadataValue.md(
                markdown_rows(ordering.by_segment, SPEND_BY_SEGMENT_HEADER)
            )
    yield MaterializeResult(asset_key=table_key(VALUE_TABLE), metadata=metadata)


@multi_asset(
    specs=[
        table_spec(
            STYLE_TABLE,
            group=GROUP,
            deps=["features.customer_rfm", "staging.transactions", "staging.returns", VALUE_TABLE],
            kinds=KINDS,
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="purchase_style",
)
def purchase_style(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Regular / Bulk / Anomaly per customer from units per line (Bulk: k-means on the
    quartiles of line quantity; Anomaly: isolation forest plus a materiality rule), with a
    reason and the value x style label; registered in MLflow as purchase_style_segments."""
    with warehouse.writer() as connection:
        fitted = fit_purchase_style(connection)
        logged = _log_model(context, mlflow, fitted)
        write_segments(connection, fitted, logged.version)
        metadata = _segment_metadata(connection, fitted, logged, "purchase_style", PURCHASE_STYLES)
        labels = connection.execute(
            "SELECT value_style_label, count(*) FROM segments.purchase_style "
            "GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        truth = _truth_path()
        if truth is not None:
            recovery = style_recovery(connection, truth)
            for name, value in recovery.metrics().items():
                metadata[f"demo_truth/{name}"] = MetadataValue.float(value)
            metadata["demo_truth/counts"] = MetadataValue.md(
                markdown_rows(
                    [
                        ("Bulk", recovery.predicted_bulk, recovery.true_bulk, recovery.bulk_hits),
                        (
                            "Anomaly",
                            recovery.predicted_anomaly,
                            recovery.true_anomaly,
                            recovery.anomaly_hits,
                        ),
                    ],
                    ["style", "labelled", "true", "both"],
                )
            )
    metadata["value_style_labels"] = MetadataValue.md(
        markdown_rows(labels, ["value_style_label", "customers"])
    )
    metadata["value_style_matrix"] = MetadataValue.md(value_style_markdown())
    yield MaterializeResult(asset_key=table_key(STYLE_TABLE), metadata=metadata)


@multi_asset(
    specs=[table_spec(PERSONA_TABLE, group=GROUP, deps=["features.customer_rfm"], kinds=KINDS)],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="personas",
)
def personas(context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking):
    """Loyal Customers, Big Spenders, At Risk, New Customers, Occasional: New Customers by
    their first purchase within 90 days; for everyone else k-means (k=3) on standardized
    log frequency, spend and average order value names a Loyal, Big Spender or Occasional
    profile (each cluster takes the nearest archetype, an assignment problem, not a fixed
    cluster id), and a valuable profile without a purchase for 90 days is At Risk;
    registered in MLflow as customer_personas."""
    with warehouse.writer() as connection:
        fitted = fit_personas(connection)
        logged = _log_model(context, mlflow, fitted)
        write_segments(connection, fitted, logged.version)
        metadata = _segment_metadata(connection, fitted, logged, "persona", PERSONAS)
    yield MaterializeResult(asset_key=table_key(PERSONA_TABLE), metadata=metadata)


# -- checks ------------------------------------------------------------------------------------


def _covers_all_customers(table: str):
    """A blocking check that every customer with a purchase before the snapshot has a row
    (one row per customer, labels not null and from their vocabulary are in the table's
    contract and its GX check)."""
    target = qualified(table)

    @asset_check(asset=table_key(table), name="covers_all_customers", blocking=True)
    def covers_all_customers(warehouse: DuckDBWarehouse) -> AssetCheckResult:
        """Every customer with a purchase in staging.transactions before the snapshot date
        has a row."""
        with warehouse.reader() as connection:
            missing, example = one_row(
                connection,
                f"""
                SELECT count(DISTINCT t.customer_id), min(t.customer_id)
                FROM staging.transactions t
                ANTI JOIN {target} s USING (customer_id)
                WHERE t.invoice_ts < (SELECT max(as_of) FROM {target})
                """,
            )
        metadata = {"missing_customers": missing}
        if missing:
            metadata["example_missing_customer"] = str(example)
        return AssetCheckResult(passed=missing == 0, metadata=metadata)

    return covers_all_customers


segment_checks = [
    _covers_all_customers(table) for table in (VALUE_TABLE, STYLE_TABLE, PERSONA_TABLE)
]


@asset_check(asset=table_key(VALUE_TABLE), name="value_segments_ordered", blocking=False)
def value_segments_ordered(warehouse: DuckDBWarehouse) -> AssetCheckResult:
    """Low < Mid < High in median net spend and in mean value score (a warning: the labels
    are named by value, so a failure means the clusters stopped separating value)."""
    with warehouse.reader() as connection:
        rows = connection.execute(
            "SELECT value_segment, round(median(monetary), 2), round(avg(value_score), 4) "
            "FROM segments.customer_value GROUP BY 1"
        ).fetchall()
    by_label = {label: (spend, score) for label, spend, score in rows}
    present = [label for label in VALUE_SEGMENTS if label in by_label]
    spends = [by_label[label][0] for label in present]
    scores = [by_label[label][1] for label in present]
    ordered = spends == sorted(spends) and scores == sorted(scores)
    return AssetCheckResult(
        passed=ordered,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "by_segment": MetadataValue.md(
                markdown_rows(
                    [(label, *by_label[label]) for label in present],
                    ["segment", "median monetary", "mean value_score"],
                )
            )
        },
    )


gx_checks = contract_checks(customer_value, purchase_style, personas)
