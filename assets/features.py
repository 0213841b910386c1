"""Features layer: product categories and per-customer RFM features as of the snapshot."""

import datetime as dt

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.coverage import PURCHASERS_BEFORE_SNAPSHOT, covers_customers_check
from assets.quality import contract_checks
from pipeline.features import RFM_SEGMENTS, build_customer_rfm, default_as_of
from pipeline.product_categories import build_product_categories, load_rules
from pipeline.serving.daily_orders import TABLE as DAILY_ORDERS
from pipeline.serving.daily_orders import build_daily_orders
from pipeline.settings import Settings
from pipeline.spark.layers import build_customer_rfm_on_spark
from resources.sql_engine import SqlEngine
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse


@multi_asset(
    specs=[
        table_spec("features.product_categories", group="features", deps=["staging.transactions"])
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="product_categories",
)
def product_categories(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """One row per stock code with its category: the user's mapping where given
    (DATA_DIR/product_categories.csv), else the keyword rules."""
    settings = Settings.from_env()
    with warehouse.writer() as connection:
        build_product_categories(connection, settings.product_categories_path, load_rules())
        shares = connection.execute(
            "SELECT category, count(*) AS products, round(sum(revenue), 2) AS revenue "
            "FROM features.product_categories GROUP BY category ORDER BY revenue DESC"
        ).fetchall()
        metadata = comment_and_describe(connection, "features.product_categories", preview=False)
    metadata["categories"] = MetadataValue.md(
        markdown_rows(shares, ["category", "products", "revenue"])
    )
    yield MaterializeResult(asset_key=table_key("features.product_categories"), metadata=metadata)


@multi_asset(
    specs=[
        table_spec(
            "features.customer_rfm",
            group="features",
            deps=["staging.transactions", "staging.returns", "features.product_categories"],
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="customer_rfm",
)
def customer_rfm(context: AssetExecutionContext, warehouse: DuckDBWarehouse, sql_engine: SqlEngine):
    """Recency, frequency, monetary value and behaviour per customer as of the snapshot
    date (AS_OF_DATE, default the day after the last purchase), with RFM scores and
    segments. Runs on the configured SQL engine (SQL_ENGINE)."""
    settings = Settings.from_env()
    with warehouse.writer() as connection:
        as_of = (
            dt.datetime.combine(settings.as_of, dt.time())
            if settings.as_of
            else default_as_of(connection)
        )
        if sql_engine.uses_spark:
            build_customer_rfm_on_spark(connection, sql_engine.spark(), sql_engine.lake(), as_of)
        else:
            build_customer_rfm(connection, as_of)
        segments = connection.execute(
            "SELECT rfm_segment, count(*), round(avg(recency_days), 1), round(avg(frequency), 2), "
            "round(avg(monetary), 2) FROM features.customer_rfm GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        metadata = comment_and_describe(connection, "features.customer_rfm")
    metadata["as_of"] = as_of.isoformat()
    metadata["sql_engine"] = sql_engine.describe()
    metadata["rfm_segments"] = MetadataValue.md(
        markdown_rows(segments, ["segment", "customers", "recency", "frequency", "monetary"])
    )
    metadata["segments_defined"] = len(RFM_SEGMENTS)
    yield MaterializeResult(asset_key=table_key("features.customer_rfm"), metadata=metadata)


@multi_asset(
    specs=[
        # In the bi group: it is published for the API, and in the features group it pushed
        # customer_rfm out of the Dagster UI graph's first view.
        table_spec(
            DAILY_ORDERS,
            group="bi",
            deps=["staging.transactions", "features.customer_rfm"],
        )
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="daily_orders",
)
def daily_orders(context: AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Orders per day before the snapshot date of features.customer_rfm: the trading clock
    the HTTP API scores new customers on, the same the batch uses."""
    with warehouse.writer() as connection:
        (as_of,) = connection.execute("SELECT max(as_of) FROM features.customer_rfm").fetchone()
        days = build_daily_orders(connection, as_of)
        metadata = comment_and_describe(connection, DAILY_ORDERS)
    metadata["as_of"] = as_of.isoformat()
    context.log.info("%d days of orders before %s", days, as_of)
    yield MaterializeResult(asset_key=table_key(DAILY_ORDERS), metadata=metadata)


gx_checks = contract_checks(product_categories, customer_rfm, daily_orders)
customer_rfm_coverage = covers_customers_check(
    "features.customer_rfm",
    PURCHASERS_BEFORE_SNAPSHOT,
    "Every customer with a purchase in staging.transactions before the snapshot date has a row.",
)
