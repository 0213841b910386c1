"""Marts layer: business-facing tables for marketing and BI, and the segment exports."""

import datetime as dt

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.action_rules import DEFAULT_RULES_PATH, load_configured_plan
from pipeline.exports import export_queries
from pipeline.marts import (
    build_customer_segments,
    build_monthly_revenue,
    build_segment_summary,
    export_queries_by_action,
)
from pipeline.settings import Settings
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

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


gx_checks = contract_checks(monthly_revenue, customer_segments, segment_summary)
