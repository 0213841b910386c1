"""Great Expectations suites as Dagster asset checks, built from the tables' contracts.

``contract_checks(staging_clean)`` returns, for every table the asset writes whose contract
(pipeline/catalog) has checks, an asset check ``gx_<schema>_<table>`` that opens the
warehouse read-only, runs the table's suite from :mod:`pipeline.quality`, and reports each
expectation in the check's metadata. The check is blocking when any of the contract's checks
is. Layer modules put this one line beside their assets.

raw.transactions and the staging tables validate their row-level expectations only on the
rows new since the last evaluation whose row-level expectations passed
(:mod:`pipeline.quality.scope`); that evaluation is found in the instance's check history,
and its metadata (``validated_through``) holds the marks the scope starts from. The check's
metadata says which rows it validated (``scope``).

Verdicts: a failed *critical* expectation fails the check with severity ERROR (which stops
downstream assets when the check is blocking); if only *warning* expectations failed (the
freshness of historical data, by default) the check fails with severity WARN and blocks
nothing. Errors that are not data failures (a missing table, a GX exception, a locked
database) are raised, so the step fails with its traceback instead of posing as bad data.
"""

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    DagsterEventType,
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
MARKS_KEY, ROW_LEVEL_KEY = "validated_through", "row_level_passed"
# Evaluations looked through for the last completed one (the others are only planned: this
# run's, or runs that stopped before the check).
HISTORY_LIMIT = 20


def check_name_for(suite_name: str) -> str:
    """``"staging.transactions"`` -> ``"gx_staging_transactions"``."""
    return "gx_" + "".join(char if char.isalnum() else "_" for char in suite_name)


def previous_row_count(
    instance: DagsterInstance, asset_key: AssetKey, newer: int = 1
) -> int | None:
    """The row count the asset reported one materialization before the current table.

    The latest materialization is the one that wrote the table being checked (in this run,
    or in an earlier run when the check runs alone), so the comparison point is the one
    before it (``newer=0``: the latest, for a caller that has not reported the table yet).
    None when there is no such materialization or it reported no row count.
    """
    records = instance.fetch_materializations(asset_key, limit=newer + 1).records
    if len(records) < newer + 1:
        return None
    materialization = records[newer].asset_materialization
    if materialization is None:
        return None
    for key in ROW_COUNT_METADATA_KEYS:
        value = materialization.metadata.get(key)
        if value is not None:
            return int(getattr(value, "value", value))
    return None


def previous_marks(
    instance: DagsterInstance, check_key: AssetCheckKey
) -> tuple[dict | None, str | None]:
    """The marks (``validated_through``) of the check's last completed evaluation when its
    row-level expectations passed; otherwise None and why.

    DagsterInstance has no public method for a check's history (dagster 1.13), so it is read
    through the instance's event log storage (``get_asset_check_execution_history``, an
    abstract method of its interface; no private module is imported). The history holds
    planned evaluations too (this run's own, while it runs); a completed one is the record
    whose event is an ``ASSET_CHECK_EVALUATION``, told by the public DagsterEventType
    rather than by the record status enum, which dagster does not export.
    """
    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=HISTORY_LIMIT
    )
    evaluation = next(
        (
            record.event.dagster_event
            for record in records
            if record.event is not None
            and record.event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        ),
        None,
    )
    if evaluation is None:
        return None, "no previous evaluation"
    metadata = evaluation.asset_check_evaluation_data.metadata
    marks, row_level_passed = metadata.get(MARKS_KEY), metadata.get(ROW_LEVEL_KEY)
    if marks is None or row_level_passed is None:
        return None, "the previous evaluation recorded no marks"
    if not row_level_passed.value:
        return None, "row-level expectations failed or warned at the previous evaluation"
    return dict(marks.value), None


def check_result(
    report: quality.ValidationReport,
    previous: int | None,
    scope: quality.ValidationScope | None = None,
) -> AssetCheckResult:
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
        "scope": report.scope,
        "validated_rows": report.validated_rows,
    }
    if scope is not None:
        metadata[MARKS_KEY] = MetadataValue.json(scope.marks)
        metadata[ROW_LEVEL_KEY] = report.row_level_success
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
        return validate_contract(context, table, warehouse, data_quality, previous)

    return _gx_check


def validate_contract(
    context, table: str, warehouse: DuckDBWarehouse, data_quality: DataQuality, previous
) -> AssetCheckResult:
    """The verdict of ``table``'s suite (the body of its check; ``context``: a step's
    context, for the instance and the log; ``previous``: the row count to compare with)."""
    marks, whole_reason = None, None
    if table in quality.SCOPED_TABLES:
        check_key = AssetCheckKey(table_key(table), check_name_for(table))
        marks, whole_reason = previous_marks(context.instance, check_key)
    with warehouse.reader() as connection:
        scope = quality.scope_for(connection, table, marks, whole_reason)
        report = data_quality.validate(
            connection,
            table,
            quality.suite_for(table),
            previous_row_count=previous,
            scope=scope,
        )
    context.log.info(
        "%s: %s (%s, %s); result in %s",
        table,
        "passed" if report.success else f"failed ({report.failed_severity})",
        report.scope,
        report.engine,
        report.result_path,
    )
    return check_result(report, previous, scope)


def contract_evaluation(table: str, result: AssetCheckResult) -> AssetCheckEvaluation:
    """``result`` as the evaluation of ``table``'s check, for an asset that validates its
    table itself because its check step cannot run (see assets/history.py)."""
    return AssetCheckEvaluation(
        asset_key=table_key(table),
        check_name=check_name_for(table),
        passed=result.passed,
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
        blocking=TABLES[table].blocking,
    )
