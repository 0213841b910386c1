"""scores.truth_evaluation: on demo data, the written scores against what the customers did.

It reads the score tables (no model is loaded or fitted: the logic is
:mod:`pipeline.modelling.truth_report`) and follows training: it runs in the ``refresh`` job
and, under automation, after a training run, not on the nightly runs (whose new days move
the snapshot away from the horizon the demo truth describes).
"""

# No ``from __future__ import annotations``: Dagster reads the config parameter's annotation
# (ScoringConfig) when the asset is defined.

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from assets.common import (
    comment_and_describe,
    frame_markdown,
    markdown_rows,
    table_key,
    table_spec,
)
from assets.model_config import ScoringConfig, model_windows
from assets.models import model_key
from assets.quality import contract_checks
from pipeline.catalog.writer import empty_frame, replace_table
from pipeline.features import default_as_of
from pipeline.modelling.champion_scoring import SCORE_TABLES
from pipeline.modelling.evaluation import metrics_markdown
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.modelling.truth_report import (
    TRUTH_EVALUATION,
    TruthReport,
    scores_against_truth,
    truth_rows,
)
from pipeline.settings import Settings
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

# The score tables it judges, the frame the baselines are fitted on, and (for automation:
# it follows a training run) the models.
INPUTS = (*SCORE_TABLES.values(), "features.customer_rfm", "features.daily_orders")


def _spec():
    spec = table_spec(TRUTH_EVALUATION, group="models", deps=INPUTS, kinds=("duckdb",))
    return spec.replace_attributes(deps=[*(model_key(m) for m in SCORE_TABLES), *spec.deps])


def truth_metadata(report: TruthReport) -> dict:
    """The comparison as markdown tables, one per model (the spend next to propensity)."""
    metadata: dict = {"truth_note": report.note, "as_of": report.snapshot.isoformat()}
    comparison = report.comparison
    if comparison is None:
        return metadata
    metadata[PROPENSITY_MODEL] = MetadataValue.md(
        metrics_markdown(comparison.propensity)
        + "\n\nspend in the horizon:\n\n"
        + frame_markdown(comparison.spend.reset_index())
    )
    metadata[CHURN_MODEL] = MetadataValue.md(metrics_markdown(comparison.churn))
    if comparison.product is not None:
        metadata[PRODUCT_MODEL] = MetadataValue.md(metrics_markdown(comparison.product))
    metadata["customers"] = comparison.customers
    metadata["champions"] = MetadataValue.md(
        markdown_rows(sorted(report.versions.items()), ["model", "version that wrote the scores"])
    )
    return metadata


@multi_asset(specs=[_spec()], pool=WRITER_POOL, retry_policy=WRITER_RETRY, name="truth_evaluation")
def truth_evaluation(
    context: AssetExecutionContext, config: ScoringConfig, warehouse: DuckDBWarehouse
):
    """On demo data, the written score tables against the customers' real outcomes in the
    horizon after the data's end; an empty table (and the reason in the metadata) on any
    other data."""
    settings = Settings.from_env()
    with warehouse.writer() as connection:
        windows = model_windows(connection, settings, config)
        report = scores_against_truth(
            connection, windows, settings.demo_dir, default_as_of(connection)
        )
        rows = truth_rows(report)
        replace_table(
            connection, TRUTH_EVALUATION, empty_frame(TRUTH_EVALUATION) if rows is None else rows
        )
        metadata = comment_and_describe(connection, TRUTH_EVALUATION)
    if report.comparison is None:
        context.log.info(report.note)
    yield MaterializeResult(
        asset_key=table_key(TRUTH_EVALUATION), metadata={**metadata, **truth_metadata(report)}
    )


gx_checks = contract_checks(truth_evaluation)
