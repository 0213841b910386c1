"""Marts layer: business-facing tables for marketing and BI."""

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from assets.common import table_key, table_metadata, table_spec
from pipeline.marts import build_monthly_revenue
from resources.warehouse import WRITER_POOL, DuckDBWarehouse


@multi_asset(
    specs=[
        table_spec(
            "marts.monthly_revenue",
            group="marts",
            deps=["staging.transactions", "staging.returns"],
        )
    ],
    pool=WRITER_POOL,
    name="monthly_revenue",
)
def monthly_revenue(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Revenue, orders, customers and newcomers per month, with year-on-year growth and a
    seasonality index."""
    with warehouse.writer() as connection:
        build_monthly_revenue(connection)
        metadata = table_metadata(connection, "marts.monthly_revenue")
    yield MaterializeResult(asset_key=table_key("marts.monthly_revenue"), metadata=metadata)
