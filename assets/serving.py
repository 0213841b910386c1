"""Serving inputs: what the HTTP API needs from the warehouse, published in the BI snapshot."""

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from assets.common import comment_and_describe, table_key, table_spec
from pipeline.serving.daily_orders import TABLE, build_daily_orders
from resources.warehouse import WRITER_POOL, DuckDBWarehouse


@multi_asset(
    specs=[
        table_spec(TABLE, group="features", deps=["staging.transactions", "features.customer_rfm"])
    ],
    pool=WRITER_POOL,
    name="daily_orders",
)
def daily_orders(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Orders per day before the snapshot date of features.customer_rfm: the trading clock
    the API scores new customers on, the same the batch uses."""
    with warehouse.writer() as connection:
        (as_of,) = connection.execute("SELECT max(as_of) FROM features.customer_rfm").fetchone()
        days = build_daily_orders(connection, as_of)
        metadata = comment_and_describe(connection, TABLE)
    metadata["as_of"] = as_of.isoformat()
    context.log.info("%d days of orders before %s", days, as_of)
    yield MaterializeResult(asset_key=table_key(TABLE), metadata=metadata)
