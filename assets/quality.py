"""Great Expectations suites as Dagster asset checks, built from the tables' contracts.

``contract_checks(staging_clean)`` returns, for every table the asset writes whose contract
(pipeline/catalog) has checks, an asset check ``gx_<schema>_<table>`` that opens the
warehouse read-only, runs the table's suite from :mod:`pipeline.quality`, and reports each
expectation in the check's metadata. The check is blocking when any of the contract's checks
is. Layer modules put this one line beside their assets.

Verdicts: a failed *critical* expectation fails the check with severity ERROR (which stops
downstream assets when the check is blocking); if only *warning* expectations failed (the
freshness of historical data, by default) the check fails with severity WARN and blocks
nothing. Errors that are not data failures (a missing table, a GX exception, a locked
database) are raised, so the step fails with its traceback instead of posing as bad data.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    MetadataValue,
    asset_check,
)

from assets.common import table_key
from pipeline import quality
from pipeline.catalog import TABLES
from resources.data_quality import DataQuality
from resources.warehouse import DuckDBWarehouse

ROW_COUNT_METADATA_KEYS = ("dagster/row_count", "row_count")


def check_name_for(suite_name: str) -> str:
    """``"staging.transactions"`` -> ``"gx_staging_transactions"``."""
    return "gx_" + "".join(char if char.isalnum() else "_" for char in suite_name)


def previous_row_count(instance: DagsterInstance, asset_key: AssetKey) -> int | None:
    """The row count the asset reported one materialization before the current table.

    The latest materialization is the one that wrote the table being checked (in this run,
    or in an earlier run when the check runs alone), so the comparison point is the one
    before it. None when there is no such materialization or it reported no row count.
    """
    records = instance.fetch_materializations(asset_key, limit=2).records
    if len(records) < 2:
        return None
    materialization = records[1].asset_materialization
    if materialization is None:
        return None
    for key in ROW_COUNT_METADATA_KEYS:
        value = materialization.metadata.get(key)
        if value is not None:
            return int(getattr(value, "value", value))
    return None


def check_result(report: quality.ValidationReport, previous: int | None) -> AssetCheckResult:
    """The Dagster verdict and metadata for a validation report."""
    failures = report.failures
    severity = (
        AssetCheckSeverity.WARN if report.failed_severity == "warning" else AssetCheckSeverity.ERROR
    )
    metadata: dict[str, object] = {
        "expectations": MetadataValue.md(report.to_markdown()),
        "evaluated": len(report.outcomes),
        "failed_critical": sum(1 for f in failures if f.severity == "critical"),
        "failed_warning": sum(1 for f in failures if f.severity != "critical"),
        "row_count": report.row_count,
        "previous_row_count": previous if previous is not None else MetadataValue.null(),
        "engine": report.engine,
    }
    if report.result_path is not None:
        metadata["result_json"] = MetadataValue.path(str(report.result_path))
    if report.html_path is not None:
        metadata["result_html"] = MetadataValue.url(report.html_path.resolve().as_uri())
    if failures:
        names = ", ".join(
            f"{f.expectation_type.removeprefix('expect_')}({f.column or ''})" for f in failures
        )
        description = f"{len(failures)} of {len(report.outcomes)} expectations failed: {names}"
    else:
        description = f"all {len(report.outcomes)} expectations passed"
    return AssetCheckResult(
        passed=report.success, severity=severity, metadata=metadata, description=description
    )


def contract_checks(*assets: AssetsDefinition) -> list[AssetChecksDefinition]:
    """The GX check of every table ``assets`` write that has checks in its contract (the
    ``models/*`` keys of registered MLflow models are not tables)."""
    tables = [
        ".".join(key.path) for asset in assets for key in asset.keys if key.path[0] != "models"
    ]
    return [gx_check(table) for table in tables if TABLES[table].checks]


def gx_check(table: str) -> AssetChecksDefinition:
    """An asset check running the GX suite of ``table``'s contract on the asset's table.

    The asset key mirrors the table (``staging.transactions`` is ``["staging",
    "transactions"]``). Needs the ``warehouse`` (:class:`DuckDBWarehouse`) and
    ``data_quality`` (:class:`DataQuality`) resources.
    """
    if table not in quality.suite_names():
        raise ValueError(
            f"no data-quality suite named {table!r}; known: {sorted(quality.suite_names())}"
        )
    contract = TABLES[table]
    key = table_key(table)

    @asset_check(
        asset=key,
        name=check_name_for(table),
        blocking=contract.blocking,
        description=quality.describe_checks(contract),
    )
    def _gx_check(
        context: AssetCheckExecutionContext,
        warehouse: DuckDBWarehouse,
        data_quality: DataQuality,
    ) -> AssetCheckResult:
        previous = previous_row_count(context.instance, key)
        with warehouse.reader() as connection:
            report = data_quality.validate(
                connection, table, quality.suite_for(table), previous_row_count=previous
            )
        context.log.info(
            "%s: %s (%s rows, %s); result in %s",
            table,
            "passed" if report.success else f"failed ({report.failed_severity})",
            report.row_count,
            report.engine,
            report.result_path,
        )
        return check_result(report, previous)

    return _gx_check
