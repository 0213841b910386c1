"""Staging layer: apply the named cleaning rules to raw.transactions."""

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.cleaning import ALL_RULES, build_staging
from pipeline.cleaning import row_accounting as count_rows
from pipeline.settings import Settings
from pipeline.spark.layers import build_staging_on_spark
from resources.sql_engine import SqlEngine
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

STAGING_TABLES = ("staging.transactions", "staging.returns", "staging.excluded")


@multi_asset(
    specs=[
        table_spec(table, group="staging", deps=["raw.transactions"]) for table in STAGING_TABLES
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="staging_clean",
    description="Split raw.transactions into purchases, returns and excluded rows.",
)
def staging_clean(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, sql_engine: SqlEngine
):
    """Rebuild staging from the full raw history with the rules in pipeline/cleaning.py;
    every removed row is kept in staging.excluded with the rule's name. Runs on the
    configured SQL engine (SQL_ENGINE)."""
    settings = Settings.from_env()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rules = {
        "non_product_codes": settings.non_product_codes,
        "latest_valid_ts": now + dt.timedelta(days=settings.future_tolerance_days),
    }
    with warehouse.writer() as connection:
        if sql_engine.uses_spark:
            counts = build_staging_on_spark(
                connection, sql_engine.spark(), sql_engine.lake(), **rules
            )
        else:
            counts = build_staging(connection, **rules)
        rules = markdown_rows(
            [
                (r.name, r.destination, counts.excluded_by_rule.get(r.name, "-"), r.description)
                for r in ALL_RULES
            ],
            ["rule", "goes to", "rows", "why"],
        )
        for table in STAGING_TABLES:
            metadata = comment_and_describe(connection, table)
            metadata["sql_engine"] = sql_engine.describe()
            if table == "staging.excluded":
                metadata["rows_by_rule"] = MetadataValue.md(rules)
            yield MaterializeResult(asset_key=table_key(table), metadata=metadata)


@asset_check(asset=table_key("staging.transactions"), blocking=True, name="row_accounting")
def row_accounting(warehouse: DuckDBWarehouse) -> AssetCheckResult:
    """No row disappears: rows read from files = raw + quarantine, and raw = transactions +
    returns + excluded."""
    with warehouse.reader() as connection:
        counts = count_rows(connection)
    read, raw, quarantined = counts.read, counts.raw, counts.quarantined
    purchases, returns, excluded = counts.purchases, counts.returns, counts.excluded
    return AssetCheckResult(
        passed=counts.balanced,
        metadata={
            "rows_read_from_files": read,
            "raw_transactions": raw,
            "raw_quarantine": quarantined,
            "staging_transactions": purchases,
            "staging_returns": returns,
            "staging_excluded": excluded,
            "equation": MetadataValue.md(
                f"read {read} = raw {raw} + quarantined {quarantined}; "
                f"raw {raw} = purchases {purchases} + returns {returns} + excluded {excluded}"
            ),
        },
    )


gx_checks = contract_checks(staging_clean)
