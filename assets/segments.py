"""Segments layer: customer value, purchase style and personas per customer.

Each table is labelled by its model's MLflow champion (``models:/NAME@champion``, trained
on the training cadence by assets/segment_models.py; no refit here), stamped with the
champion's version, with segment sizes and centroids as metadata. Only on a machine
without a champion yet (the first run) does the asset fit and register one itself. On
generated demo data (DATA_DIR/demo/customer_truth.parquet present) it also reports how well
the segments recover the generator's truth.
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
from assets.coverage import FEATURE_CUSTOMERS, covers_customers_check
from assets.models import model_key
from assets.quality import contract_checks
from assets.segment_models import train_segment_model
from pipeline.demo import TRUTH_FILE
from pipeline.model_registry import champion_version, load_version
from pipeline.segmentation import (
    PERSONA_TABLE,
    STYLE_TABLE,
    VALUE_SEGMENTS,
    VALUE_TABLE,
)
from pipeline.segmentation.build import SEGMENT_TABLES, SegmentTable, write_assignments
from pipeline.segmentation.evaluation import (
    SEGMENT_SIZES_HEADER,
    SPEND_BY_SEGMENT_HEADER,
    segment_sizes,
    style_recovery,
    value_ordering,
)
from pipeline.segmentation.labels import value_style_markdown
from pipeline.settings import Settings
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

GROUP = "segments"
KINDS = ("duckdb", "scikitlearn", "mlflow")


def _truth_path() -> Path | None:
    """The demo generator's truth file, when this DATA_DIR holds demo data."""
    path = Settings.from_env().demo_dir / TRUTH_FILE
    return path if path.exists() else None


def _segment_spec(table: str, after: tuple[str, ...] = ()):
    """The table's spec: it reads its model, the features (and ``after``: tables its labels
    take from)."""
    segment = SEGMENT_TABLES[table]
    deps = ["features.customer_rfm", *segment.inputs, *after]
    spec = table_spec(table, group=GROUP, deps=deps, kinds=KINDS)
    return spec.replace_attributes(deps=[model_key(segment.model_name), *spec.deps])


def _label_customers(
    context: AssetExecutionContext, connection, tracking: ModelTracking, segment: SegmentTable
) -> dict:
    """Label every customer with ``segment``'s champion (fitted and registered now when
    there is none yet), write the table; its metadata."""
    current = champion_version(tracking.client(), segment.model_name)
    if current is None:
        fitted, logged = train_segment_model(context, tracking, connection, segment)
        model, version = fitted.model, logged.version
        chosen = f"{logged.summary}; fitted in this run: there was no champion yet"
    else:
        model, version = load_version(current), str(current.version)
        chosen = f"{segment.model_name} v{version} (champion)"
    write_assignments(connection, segment.table, segment.assign(connection, model), version)
    context.log.info(f"{segment.table} labelled by {chosen}")
    centroids = model.centroid_table()
    metadata = comment_and_describe(connection, segment.table)
    metadata["segment_sizes"] = MetadataValue.md(
        markdown_rows(
            segment_sizes(connection, segment.table, segment.label_column, segment.labels),
            SEGMENT_SIZES_HEADER,
        )
    )
    metadata["centroids"] = MetadataValue.md(
        markdown_rows(centroids.itertuples(index=False), list(centroids.columns))
    )
    metadata["model"] = MetadataValue.text(chosen)
    metadata["model_uri"] = MetadataValue.text(f"models:/{segment.model_name}/{version}")
    return metadata


@multi_asset(
    specs=[_segment_spec(VALUE_TABLE)],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_value",
)
def customer_value(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Low / Mid / High value per customer: k-means (k=3) on standardized log recency,
    frequency and monetary, clusters named by their centroid's value score; labelled by the
    champion of customer_value_segments."""
    with warehouse.writer() as connection:
        metadata = _label_customers(context, connection, mlflow, SEGMENT_TABLES[VALUE_TABLE])
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
    specs=[_segment_spec(STYLE_TABLE, (VALUE_TABLE,))],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="purchase_style",
)
def purchase_style(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Regular / Bulk / Anomaly per customer from units per line (Bulk: k-means on the
    quartiles of line quantity; Anomaly: isolation forest plus a materiality rule), with a
    reason and the value x style label; labelled by the champion of
    purchase_style_segments."""
    with warehouse.writer() as connection:
        metadata = _label_customers(context, connection, mlflow, SEGMENT_TABLES[STYLE_TABLE])
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
    specs=[_segment_spec(PERSONA_TABLE)],
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
    labelled by the champion of customer_personas."""
    with warehouse.writer() as connection:
        metadata = _label_customers(context, connection, mlflow, SEGMENT_TABLES[PERSONA_TABLE])
    yield MaterializeResult(asset_key=table_key(PERSONA_TABLE), metadata=metadata)


# -- checks ------------------------------------------------------------------------------------


segment_checks = [
    covers_customers_check(
        table, FEATURE_CUSTOMERS, "Every customer of features.customer_rfm has a row."
    )
    for table in (VALUE_TABLE, STYLE_TABLE, PERSONA_TABLE)
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
