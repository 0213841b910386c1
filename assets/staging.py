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
from pipeline.cleaning import ALL_RULES, CleaningCounts
from pipeline.cleaning import row_accounting as count_rows
from pipeline.cleaning_incremental import clean_staging
from pipeline.cleaning_state import (
    ENGINE_SPARK,
    STAGING_TABLES,
    STATE_TABLE,
    RuleSettings,
    forget_state,
    record_state,
)
from pipeline.settings import Settings
from pipeline.spark.layers import build_staging_on_spark
from pipeline.sql_text import transaction
from resources.sql_engine import SqlEngine
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse


@multi_asset(
    specs=[
        table_spec(table, group="staging", deps=["raw.transactions"])
        for table in (*STAGING_TABLES, STATE_TABLE)
    ],
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    name="staging_clean",
    description="Split raw.transactions into purchases, returns and excluded rows.",
)
def staging_clean(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, sql_engine: SqlEngine
):
    """Clean the rows of new files into staging when only files were added since the last
    build, else rebuild staging from the full raw history (pipeline/cleaning_incremental.py
    says when); every removed row is kept in staging.excluded with the rule's name. Runs on
    the configured SQL engine (SQL_ENGINE); Spark always rebuilds."""
    settings = Settings.from_env()
    rules = RuleSettings(
        settings.non_product_codes,
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
        settings.future_tolerance_days,
    )
    with warehouse.writer() as connection:
        if sql_engine.uses_spark:
            counts = _clean_on_spark(connection, sql_engine, rules)
            cleaning = "full (the Spark engine always rebuilds)"
        else:
            outcome = clean_staging(connection, rules)
            counts, cleaning = outcome.counts, outcome.describe()
        context.log.info("cleaning: %s", cleaning)
        by_rule = markdown_rows(
            [
                (r.name, r.destination, counts.excluded_by_rule.get(r.name, "-"), r.description)
                for r in ALL_RULES
            ],
            ["rule", "goes to", "rows", "why"],
        )
        for table in (*STAGING_TABLES, STATE_TABLE):
            metadata = comment_and_describe(connection, table)
            metadata["sql_engine"] = sql_engine.describe()
            metadata["cleaning"] = cleaning
            if table == "staging.excluded":
                metadata["rows_by_rule"] = MetadataValue.md(by_rule)
            yield MaterializeResult(asset_key=table_key(table), metadata=metadata)


def _clean_on_spark(connection, sql_engine: SqlEngine, rules: RuleSettings) -> CleaningCounts:
    """The full rebuild on Spark; the state is cleared first (Spark replaces the tables in
    a transaction of its own) and then says Spark built them, so the next DuckDB cleaning
    rebuilds in full too."""
    forget_state(connection)
    counts = build_staging_on_spark(
        connection,
        sql_engine.spark(),
        sql_engine.lake(),
        non_product_codes=rules.non_product_codes,
        latest_valid_ts=rules.latest_valid_ts,
    )
    with transaction(connection):
        record_state(connection, rules, engine=ENGINE_SPARK)
    return counts


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
