"""Raw layer: load new and changed landing files into raw.transactions, raw.quarantine and
raw.file_ledger (one multi-asset, because one file's rows, quarantine and ledger entry are
written in one transaction)."""

from dagster import (
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pydantic import Field

from assets.common import comment_and_describe, markdown_rows, table_key, table_spec
from assets.quality import contract_checks
from pipeline.ingest import RetractionError, ingest_landing, retract_files
from pipeline.settings import Settings
from resources.warehouse import WRITER_POOL, WRITER_RETRY, DuckDBWarehouse

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
    retry_policy=WRITER_RETRY,
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
                allow_retries=False,  # a bad file stays bad: the step's retries cannot help
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


gx_checks = contract_checks(raw_ingest)
