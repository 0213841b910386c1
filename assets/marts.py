"""Marts layer: business-facing tables for marketing and BI, and the segment exports.

Every table of the marts schema is built here: monthly revenue, the customer table with
its action plan and summary, the product recommendations, the under-performers of the last
complete horizon, the live-scoring log, and the migration marts that compare two customer
history snapshots (who moved). The logic lives in :mod:`pipeline.marts` and
:mod:`pipeline.history`."""

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.action_rules import DEFAULT_RULES_PATH, load_configured_plan
from pipeline.exports import export_queries
from pipeline.history import (
    HISTORY_TABLE,
    build_customer_movements,
    build_segment_transitions,
    default_comparison,
)
from pipeline.history.snapshots import ensure_history_table
from pipeline.ingest import discover_files
from pipeline.ingest.readers import SUPPORTED_SUFFIXES
from pipeline.live_scoring import ensure_prediction_log, score_with_settings
from pipeline.marts import (
    build_customer_segments,
    build_monthly_revenue,
    build_segment_summary,
    export_queries_by_action,
)
from pipeline.marts.recommendations import DEFAULT_THRESHOLD, build_recommendations
from pipeline.marts.underperformers import DEFAULT_TOLERANCE_SHARE, build_underperformers
from pipeline.serving.prediction_log import fold_into_warehouse, log_path
from pipeline.settings import Settings
from pipeline.sql_text import one_row
from resources.mlflow_tracking import ModelTracking
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

UNDERPERFORMERS = "marts.underperformers"
RECOMMENDATIONS = "marts.product_recommendations"
PREDICTION_LOG = "marts.prediction_log"
TRANSITIONS = "marts.segment_transitions"
MOVEMENTS = "marts.customer_movements"

CUSTOMER_INPUTS = [
    "features.customer_rfm",
    "segments.customer_value",
    "segments.purchase_style",
    "segments.personas",
    "scores.churn",
    "scores.propensity",
    "marts.underperformers",
    "marts.product_recommendations",
]


class UnderperformerConfig(Config):
    tolerance_share: float = Field(
        default=DEFAULT_TOLERANCE_SHARE,
        ge=0.0,
        description="Relative tolerance of predicted vs actual spend: a customer is an "
        "under-performer when spending less than the prediction minus max(this share x "
        "predicted spend, one typical order).",
    )


@multi_asset(
    specs=[table_spec(UNDERPERFORMERS, group="marts", deps=["scores.horizon_predictions"])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="underperformers",
)
def underperformers(config: UnderperformerConfig, warehouse: DuckDBWarehouse):
    """Predicted vs actual spend on the last complete horizon: each customer of
    scores.horizon_predictions classified under-performer / accurate / over-performer."""
    with warehouse.writer() as connection:
        classified, typical = build_underperformers(connection, config.tolerance_share)
        metadata = comment_and_describe(connection, UNDERPERFORMERS)
    counts = classified["performance"].value_counts()
    if len(classified):
        start, end = classified["window_start"].iloc[0], classified["window_end"].iloc[0]
        metadata["window"] = f"{start:%Y-%m-%d} .. {end:%Y-%m-%d}"
    metadata["performance"] = MetadataValue.md(
        markdown_rows(sorted(counts.items()), ["performance", "customers"])
    )
    metadata["thresholds"] = (
        f"tolerance = max({config.tolerance_share} x predicted_spend, {typical:.2f} median "
        "net order value)"
    )
    yield MaterializeResult(asset_key=table_key(UNDERPERFORMERS), metadata=metadata)


class RecommendationConfig(Config):
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Recommend a category when P(buying it in the horizon) reaches this.",
    )


@multi_asset(
    specs=[table_spec(RECOMMENDATIONS, group="marts", deps=["scores.product_propensity"])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="product_recommendations",
)
def product_recommendations(config: RecommendationConfig, warehouse: DuckDBWarehouse):
    """The categories each customer is likely to buy next: every category whose probability
    in scores.product_propensity reaches the threshold (default 0.7), ranked per customer.
    Empty (with a note) when the data has no products."""
    with warehouse.writer() as connection:
        build_recommendations(connection, config.threshold)
        by_category = connection.execute(
            "SELECT category, count(*), round(avg(probability), 3) "
            "FROM marts.product_recommendations GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        (scored,) = one_row(connection, "SELECT count(*) FROM scores.product_propensity")
        metadata = comment_and_describe(connection, RECOMMENDATIONS)
    metadata["threshold"] = config.threshold
    metadata["by_category"] = MetadataValue.md(
        markdown_rows(by_category, ["category", "recommendations", "mean probability"])
        if by_category
        else "_(none)_"
    )
    if not scored:
        metadata["note"] = (
            "scores.product_propensity is empty (no product data): nothing to recommend"
        )
    yield MaterializeResult(asset_key=table_key(RECOMMENDATIONS), metadata=metadata)


@asset_check(asset=table_key(RECOMMENDATIONS), name="recommendations_above_threshold")
def recommendations_above_threshold(warehouse: DuckDBWarehouse) -> AssetCheckResult:
    """Every recommendation reaches its threshold and ranks per customer run 1, 2, ...
    (one row per customer and category is in the table's contract and its GX check)."""
    with warehouse.reader() as connection:
        rows, below, bad_ranks = one_row(
            connection,
            """
            SELECT count(*),
                   count(*) FILTER (WHERE probability < threshold),
                   (SELECT count(*) FROM (
                        SELECT customer_id FROM marts.product_recommendations
                        GROUP BY customer_id
                        HAVING max(recommendation_rank) <> count(*)
                            OR min(recommendation_rank) <> 1))
            FROM marts.product_recommendations
            """,
        )
    return AssetCheckResult(
        passed=bool(below == 0 and bad_ranks == 0),
        metadata={
            "rows": rows,
            "below_threshold": below,
            "customers_with_bad_ranks": bad_ranks,
        },
    )


@multi_asset(
    specs=[
        table_spec(
            PREDICTION_LOG,
            group="marts",
            deps=[
                "features.customer_rfm",
                "scores.churn",
                "scores.propensity",
                "segments.customer_value",
                "segments.personas",
                "segments.purchase_style",
            ],
            kinds=("duckdb", "scikitlearn", "mlflow"),
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="prediction_log",
)
def prediction_log(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, mlflow: ModelTracking
):
    """Score the customers of new files in DATA_DIR/landing/new_customers/ with
    models:/NAME@champion (no refit) and append each prediction to the log; customers
    already logged from the same input are not scored again. Then fold in the HTTP API's
    own log (DATA_DIR/api/prediction_log.sqlite): its predictions not in the table yet."""
    settings = Settings.from_env()
    files = discover_files(
        settings.new_customers_dir, recursive=False, skip_folders=(), suffixes=SUPPORTED_SUFFIXES
    )
    with warehouse.writer() as connection:
        ensure_prediction_log(connection)
        report = None
        if files:
            report = score_with_settings(
                connection,
                files,
                settings,
                client=mlflow.client(),
                tracking_uri=mlflow.resolved_tracking_uri,
            )
        api_folded = fold_into_warehouse(connection, log_path(settings.data_dir))
        metadata = comment_and_describe(connection, PREDICTION_LOG)
    metadata["api_predictions_folded"] = api_folded
    metadata["files_seen"] = len(files)
    metadata["customers_scored_this_run"] = report.scored if report else 0
    metadata["already_scored"] = report.already_scored if report else 0
    metadata["scoring_seconds"] = round(report.seconds, 2) if report else 0.0
    metadata["input_folder"] = MetadataValue.path(str(settings.new_customers_dir))
    context.log.info(
        "scored %d new customers from %d files",
        metadata["customers_scored_this_run"],
        len(files),
    )
    yield MaterializeResult(asset_key=table_key(PREDICTION_LOG), metadata=metadata)


@multi_asset(
    specs=[
        table_spec(
            "marts.monthly_revenue",
            group="marts",
            deps=["staging.transactions", "staging.returns"],
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="monthly_revenue",
)
def monthly_revenue(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Revenue, orders, customers and newcomers per month, with year-on-year growth and a
    seasonality index."""
    with warehouse.writer() as connection:
        build_monthly_revenue(connection)
        metadata = comment_and_describe(connection, "marts.monthly_revenue")
    yield MaterializeResult(asset_key=table_key("marts.monthly_revenue"), metadata=metadata)


@multi_asset(
    specs=[
        table_spec("marts.customer_segments", group="marts", deps=CUSTOMER_INPUTS),
        table_spec("marts.action_plan", group="marts", deps=CUSTOMER_INPUTS),
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_segments",
)
def customer_segments(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Every label and score per customer, and the action the plan assigns (rules in
    DATA_DIR/action_rules.yaml, else pipeline/action_rules.yaml)."""
    rules_path = Settings.from_env().action_rules_path
    plan = load_configured_plan(rules_path)
    with warehouse.writer() as connection:
        build_customer_segments(connection, plan)
        plan_rows = connection.execute(
            "SELECT rule_order, action, channel, priority, condition, customers "
            "FROM marts.action_plan ORDER BY rule_order"
        ).fetchall()
        segments_metadata = comment_and_describe(connection, "marts.customer_segments")
        plan_metadata = comment_and_describe(connection, "marts.action_plan", preview=False)
    plan_metadata["rules_file"] = str(rules_path if rules_path.exists() else DEFAULT_RULES_PATH)
    plan_metadata["plan"] = MetadataValue.md(
        markdown_rows(plan_rows, ["#", "action", "channel", "priority", "when", "customers"])
    )
    yield MaterializeResult(
        asset_key=table_key("marts.customer_segments"), metadata=segments_metadata
    )
    yield MaterializeResult(asset_key=table_key("marts.action_plan"), metadata=plan_metadata)


@multi_asset(
    specs=[table_spec("marts.segment_summary", group="marts", deps=["marts.customer_segments"])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="segment_summary",
)
def segment_summary(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Size, revenue share, average R/F/M and risk of every segment."""
    with warehouse.writer() as connection:
        build_segment_summary(connection)
        metadata = comment_and_describe(connection, "marts.segment_summary")
    yield MaterializeResult(asset_key=table_key("marts.segment_summary"), metadata=metadata)


@multi_asset(
    specs=[
        table_spec(
            "exports.segment_files",
            group="marts",
            deps=["marts.customer_segments"],
            kinds=("csv", "parquet"),
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="segment_exports",
)
def segment_exports(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """CSV and Parquet files per action for marketing tools, under
    DATA_DIR/exports/<run date>/ with DATA_DIR/exports/latest pointing at the newest."""
    exports_dir = Settings.from_env().exports_dir
    with warehouse.writer() as connection:
        files = export_queries(
            connection,
            exports_dir,
            export_queries_by_action(connection),
            dt.datetime.now(dt.UTC).date(),
        )
    yield MaterializeResult(
        asset_key=table_key("exports.segment_files"),
        metadata={
            "folder": MetadataValue.path(str(files[0].csv_path.parent)),
            "latest": MetadataValue.path(str(exports_dir / "latest")),
            "files": MetadataValue.md(
                markdown_rows([(f.name, f.rows) for f in files], ["export", "rows"])
            ),
            "dagster/row_count": next(f.rows for f in files if f.name == "all_customers"),
        },
    )


class TransitionsConfig(Config):
    from_date: str | None = Field(
        default=None,
        description="Earlier snapshot YYYY-MM-DD; default the newest at least compare_days "
        "before to_date.",
    )
    to_date: str | None = Field(
        default=None, description="Later snapshot YYYY-MM-DD; default the newest snapshot."
    )
    compare_days: int = Field(default=30, description="Default distance between the snapshots.")


def _comparison(connection, config: TransitionsConfig) -> tuple[dt.date, dt.date] | None:
    default = default_comparison(connection, config.compare_days)
    if not (config.from_date or config.to_date):
        return default
    if default is None:
        raise ValueError("the history holds fewer than two snapshots: nothing to compare")
    from_date = dt.date.fromisoformat(config.from_date) if config.from_date else default[0]
    to_date = dt.date.fromisoformat(config.to_date) if config.to_date else default[1]
    return from_date, to_date


@multi_asset(
    specs=[table_spec(TRANSITIONS, group="marts", deps=[HISTORY_TABLE])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="segment_transitions",
)
def segment_transitions(
    context: AssetExecutionContext, config: TransitionsConfig, warehouse: DuckDBWarehouse
):
    """Customers and net spend per (from label, to label) of the value segment, persona, RFM
    segment and churn band between two snapshots: by default the newest against the newest
    one at least 30 days before it."""
    with warehouse.writer() as connection:
        ensure_history_table(connection)
        comparison = _comparison(connection, config)
        build_segment_transitions(connection, comparison)
        moved = connection.execute(
            "SELECT dimension, sum(customers) FILTER (WHERE from_label <> to_label), "
            "sum(customers) FROM marts.segment_transitions GROUP BY 1 ORDER BY 1"
        ).fetchall()
        metadata = comment_and_describe(connection, TRANSITIONS)
    metadata["from_date"] = comparison[0].isoformat() if comparison else "none"
    metadata["to_date"] = comparison[1].isoformat() if comparison else "none"
    metadata["moved"] = MetadataValue.md(markdown_rows(moved, ["dimension", "moved", "customers"]))
    yield MaterializeResult(asset_key=table_key(TRANSITIONS), metadata=metadata)


@multi_asset(
    specs=[table_spec(MOVEMENTS, group="marts", deps=[HISTORY_TABLE])],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_movements",
)
def customer_movements(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Each customer's latest move per dimension (value segment, persona, RFM segment, churn
    band): the label before, the current one, and the first snapshot that showed it."""
    with warehouse.writer() as connection:
        ensure_history_table(connection)
        build_customer_movements(connection)
        by_dimension = connection.execute(
            "SELECT dimension, count(*) FROM marts.customer_movements GROUP BY 1 ORDER BY 1"
        ).fetchall()
        metadata = comment_and_describe(connection, MOVEMENTS)
    metadata["by_dimension"] = MetadataValue.md(
        markdown_rows(by_dimension, ["dimension", "customers who moved"])
    )
    yield MaterializeResult(asset_key=table_key(MOVEMENTS), metadata=metadata)


gx_checks = contract_checks(
    monthly_revenue,
    customer_segments,
    segment_summary,
    underperformers,
    product_recommendations,
    prediction_log,
    segment_transitions,
    customer_movements,
)
