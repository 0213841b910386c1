"""Raw layer: load new and changed landing files into raw.transactions, raw.quarantine and
raw.file_ledger (one multi-asset, because one file's rows, quarantine and ledger entry are
written in one transaction)."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import gx_check
from pipeline.ingest import RetractionError, ingest_landing, retract_files
from pipeline.settings import Settings
from pipeline.sql_text import one_row
from resources.warehouse import WRITER_POOL, DuckDBWarehouse

RAW_TABLES = ("raw.transactions", "raw.quarantine", "raw.file_ledger")


class IngestConfig(Config):
    fail_on_rejected_files: bool = Field(
        default=True,
        description=(
            "Fail the step when a landing file cannot be read at all (after loading the others), "
            "so the run shows the file and the problem. Off: record it in the ledger and go on."
        ),
    )
    retract: list[str] = Field(
        default_factory=list,
        description=(
            "Loaded files to take back before ingesting (paths relative to DATA_DIR/landing, "
            "as in raw.file_ledger): their rows leave the raw tables, so every table after "
            "them is rebuilt without them; the ledger marks them retracted."
        ),
    )


@multi_asset(
    specs=[table_spec(table, group="raw") for table in RAW_TABLES],
    pool=WRITER_POOL,
    name="raw_ingest",
    description="Load new or changed files from DATA_DIR/landing into the raw tables.",
)
def raw_ingest(context: AssetExecutionContext, config: IngestConfig, warehouse: DuckDBWarehouse):
    """Hash each landing file, skip known content, type the rest in DuckDB SQL; rows that
    cannot be typed go to raw.quarantine with file, row, column and reason."""
    settings = Settings.from_env()
    with warehouse.writer() as connection:
        if config.retract:
            try:
                removed = retract_files(connection, config.retract)
            except RetractionError as error:
                raise Failure(description=str(error)) from error
            context.log.info("retracted %s: %d rows removed", ", ".join(config.retract), removed)
        report = ingest_landing(connection, settings.landing_dir, settings.mappings_path)
        files_table = markdown_rows(
            [
                (
                    f.file_path,
                    f.status,
                    f.rows_read,
                    f.rows_loaded,
                    f.rows_quarantined,
                    f.error or "",
                )
                for f in report.files
            ],
            ["file", "status", "rows read", "loaded", "quarantined", "error"],
        )
        rejected = report.with_status("rejected")
        if rejected and config.fail_on_rejected_files:
            raise Failure(
                description="Rejected: " + "; ".join(f.error or f.file_path for f in rejected),
                metadata={"files": MetadataValue.md(files_table)},
            )
        run_facts = {
            "files_loaded": len(report.with_status("loaded")),
            "files_unchanged": len(report.with_status("unchanged")),
            "files_rejected": len(rejected),
            "rows_loaded_this_run": report.rows_loaded,
            "rows_quarantined_this_run": report.rows_quarantined,
            "files": MetadataValue.md(files_table or "_(no files)_"),
        }
        context.log.info(
            "ingest: %d loaded, %d unchanged, %d rejected files",
            run_facts["files_loaded"],
            run_facts["files_unchanged"],
            run_facts["files_rejected"],
        )
        for table in RAW_TABLES:
            metadata = comment_and_describe(connection, table, preview=table != "raw.transactions")
            if table == "raw.transactions":
                metadata.update(run_facts)
            yield MaterializeResult(asset_key=table_key(table), metadata=metadata)


@asset_check(asset=table_key("raw.transactions"), blocking=True, name="rows_traceable_to_source")
def rows_traceable_to_source(
    context: AssetCheckExecutionContext, warehouse: DuckDBWarehouse
) -> AssetCheckResult:
    """Every raw row names its file and row, and no (file, sheet, row) appears twice."""
    with warehouse.reader() as connection:
        untraceable, duplicated = one_row(
            connection,
            """
            SELECT
                (SELECT count(*) FROM raw.transactions
                 WHERE source_file IS NULL OR source_row IS NULL),
                (SELECT count(*) FROM (
                    SELECT 1 FROM raw.transactions
                    GROUP BY source_file, source_sheet, source_row HAVING count(*) > 1))
            """,
        )
    return AssetCheckResult(
        passed=untraceable == 0 and duplicated == 0,
        metadata={"rows_without_lineage": untraceable, "duplicated_source_rows": duplicated},
    )


gx_raw_transactions = gx_check(
    ["raw", "transactions"],
    "raw.transactions",
    blocking=True,
    description="Great Expectations suite: schema, typed keys, lineage unique, freshness.",
)
gx_raw_quarantine = gx_check(
    ["raw", "quarantine"],
    "raw.quarantine",
    blocking=False,
    description="Great Expectations suite: every quarantined row has a file and a reason.",
)
gx_raw_file_ledger = gx_check(
    ["raw", "file_ledger"],
    "raw.file_ledger",
    blocking=False,
    description="Great Expectations suite: ledger statuses and non-negative counts.",
)
