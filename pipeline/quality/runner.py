"""Validate one table against a suite: each expectation goes to the engine that answers it,
and the verdicts come back in suite order as a :class:`~pipeline.quality.report.ValidationReport`.

* **DuckDB catalog, always** - the schema expectations are answered from
  ``information_schema.columns``: the contract BI reads is the DuckDB type (``BIGINT``,
  ``TIMESTAMP``), which a pandas frame cannot show.
* **DuckDB ``count(*)``, always** - the row-count sanity check (the count also picks the
  engine below).
* **GX on pandas** up to ``pandas_row_limit`` rows, **DuckDB SQL** above it - every other
  expectation (:mod:`.gx_engine`, :mod:`.sql_engine`).

Only data failures make a report unsuccessful (a failed expectation, or a column a rule
needs missing from the table, which also fails the schema expectation). An expectation of a
type without a DuckDB implementation is rejected up front, whatever the table's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.quality.engines import (
    CATALOG_TYPES,
    COUNT_TYPES,
    ENGINE_DUCKDB_CATALOG,
    ENGINE_DUCKDB_SQL,
    ENGINE_GX_PANDAS,
    SUPPORTED_EXPECTATION_TYPES,
    QualityEngineError,
    TableNotFoundError,
    UnsupportedExpectationError,
    between,
    columns_of,
    fetch_one,
    split_table_name,
    verdict,
)
from pipeline.quality.expectations import (
    DEFAULT_FRESHNESS_DAYS,
    DEFAULT_FUTURE_TOLERANCE_DAYS,
    DEFAULT_PANDAS_ROW_LIMIT,
    DEFAULT_ROW_DROP_THRESHOLD,
    suite_parameters,
)
from pipeline.quality.gx_engine import validate_with_gx
from pipeline.quality.report import (
    HTML_ALWAYS,
    ValidationReport,
    outcome,
    suite_result,
    write_results,
)
from pipeline.quality.scope import ValidationScope, on_scoped_rows
from pipeline.quality.sql_engine import sql_result
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import parameters_named, qualified

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations import Expectation
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

COLUMNS_SQL = SqlFiles(__package__).read("columns.sql")
SCOPED_ROWS = "_validated_rows"


def validate_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    suite: Sequence[Expectation],
    *,
    results_dir: Path | None,
    previous_row_count: int | None = None,
    pandas_row_limit: int = DEFAULT_PANDAS_ROW_LIMIT,
    row_drop_threshold: float = DEFAULT_ROW_DROP_THRESHOLD,
    freshness_days: int = DEFAULT_FRESHNESS_DAYS,
    future_tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS,
    reference_time: dt.datetime | None = None,
    html: str = HTML_ALWAYS,
    scope: ValidationScope | None = None,
) -> ValidationReport:
    """Validate ``table`` (``schema.name``) against ``suite``; see the module docstring.

    Reads only: the connection may be read-only. ``reference_time`` (naive, like the
    warehouse's TIMESTAMP columns) defaults to the run time in UTC, the clock the staging
    ``future_date`` rule uses. Writes
    ``results_dir/<table>-<UTC timestamp>.json`` (GX's validation result) and GX's HTML
    rendering beside it as ``html`` says (:data:`~.report.HTML_CHOICES`); nothing is
    written when ``results_dir`` is None.

    ``scope`` (:mod:`.scope`) limits the expectations :func:`~.scope.on_scoped_rows`
    accepts to some rows (held in a temp table for the check); the others (schema, row
    count, max/min, ``mostly`` below 1, uniqueness of other columns) read the whole table.
    """
    run_time = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    parameters = suite_parameters(
        previous_row_count=previous_row_count,
        row_drop_threshold=row_drop_threshold,
        freshness_days=freshness_days,
        future_tolerance_days=future_tolerance_days,
        reference_time=reference_time or run_time,
    )
    _reject_unsupported(table, suite)
    column_types = _column_types(connection, table)
    table_sql = qualified(table)
    (row_count,) = fetch_one(connection, f"SELECT count(*) FROM {table_sql}")  # noqa: S608
    rows_sql, validated_rows = table_sql, row_count
    if scope is not None and not scope.whole_table:
        rows_sql, validated_rows = _scoped_rows(connection, scope)
    engine = ENGINE_GX_PANDAS if validated_rows <= pandas_row_limit else ENGINE_DUCKDB_SQL
    try:
        results = _verdicts(
            connection,
            Rows(table, table_sql, rows_sql, validated_rows),
            suite,
            parameters,
            column_types,
            row_count=row_count,
            engine=engine,
        )
    finally:
        if rows_sql != table_sql:
            connection.execute(f"DROP TABLE IF EXISTS {SCOPED_ROWS}")
    scope_text = scope.describe(validated_rows, row_count) if scope else "whole table"
    full_result = suite_result(
        table,
        results,
        parameters,
        row_count=row_count,
        engine=engine,
        run_time=run_time,
        scope=scope_text,
    )
    result_path = html_path = None
    if results_dir is not None:
        result_path, html_path = write_results(full_result, Path(results_dir), table, html=html)
    outcomes = tuple(outcome(result) for result in results)
    return ValidationReport(
        table=table,
        success=all(item.success for item in outcomes),
        row_count=row_count,
        engine=engine,
        run_time=run_time,
        suite_parameters=parameters,
        outcomes=outcomes,
        result_path=result_path,
        html_path=html_path,
        statistics=dict(full_result.statistics),
        validated_rows=validated_rows,
        scope=scope_text,
    )


@dataclass(frozen=True)
class Rows:
    """The table validated: its name, its quoted name (whole-table expectations) and the
    relation the row-level expectations read (the table, or the scoped rows)."""

    table: str
    table_sql: str
    rows_sql: str
    validated_rows: int


def _scoped_rows(connection: duckdb.DuckDBPyConnection, scope: ValidationScope) -> tuple[str, int]:
    """The scope's rows in a temp table (a read-only connection may create one)."""
    assert scope.rows_sql is not None
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {SCOPED_ROWS} AS {scope.rows_sql}",
        parameters_named(scope.rows_sql, scope.parameters),
    )
    (validated,) = fetch_one(connection, f"SELECT count(*) FROM {SCOPED_ROWS}")  # noqa: S608
    return SCOPED_ROWS, int(validated)


def _reject_unsupported(table: str, suite: Sequence[Expectation]) -> None:
    unsupported = sorted(
        {e.expectation_type for e in suite} - SUPPORTED_EXPECTATION_TYPES  # type: ignore[attr-defined]
    )
    if unsupported:
        raise UnsupportedExpectationError(
            f"suite for {table} uses {unsupported}; "
            f"supported: {sorted(SUPPORTED_EXPECTATION_TYPES)}"
        )


def _verdicts(
    connection: duckdb.DuckDBPyConnection,
    rows: Rows,
    suite: Sequence[Expectation],
    parameters: Mapping[str, Any],
    column_types: Mapping[str, str],
    *,
    row_count: int,
    engine: str,
) -> list[ExpectationValidationResult]:
    """One result per expectation, in suite order; the GX ones are computed in one batch."""
    results: list[ExpectationValidationResult | None] = [None] * len(suite)
    configs = [_resolved_config(expectation, parameters) for expectation in suite]
    scoped = rows.rows_sql != rows.table_sql
    gx_positions: list[int] = []
    for position, config in enumerate(configs):
        missing = [c for c in columns_of(config) if c not in column_types]
        if config.type in CATALOG_TYPES:
            results[position] = _catalog_result(config, column_types)
        elif config.type in COUNT_TYPES:
            results[position] = _row_count_result(config, row_count)
        elif missing:
            results[position] = _missing_column_result(config, missing)
        elif scoped and not on_scoped_rows(suite[position]):
            results[position] = sql_result(connection, rows.table_sql, config, row_count)
        elif engine == ENGINE_DUCKDB_SQL:
            results[position] = sql_result(connection, rows.rows_sql, config, rows.validated_rows)
        else:
            gx_positions.append(position)
    if gx_positions:
        gx_results = validate_with_gx(
            connection, rows.table, rows.rows_sql, [suite[p] for p in gx_positions], parameters
        )
        _place(gx_results, results, configs, gx_positions)
    return [result for result in results if result is not None]


def _place(
    gx_results: Sequence[ExpectationValidationResult],
    results: list[ExpectationValidationResult | None],
    configs: Sequence[ExpectationConfiguration],
    positions: Sequence[int],
) -> None:
    """GX groups results by metric, not in suite order: put each back where it was asked."""
    for result in gx_results:
        position = next(
            (
                p
                for p in positions
                if results[p] is None and _same_rule(result.expectation_config, configs[p])
            ),
            None,
        )
        if position is None:
            raise QualityEngineError(f"GX returned a result nobody asked for: {result}")
        results[position] = result


def _column_types(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema_name, table_name = split_table_name(table)
    rows = connection.execute(COLUMNS_SQL, [schema_name, table_name]).fetchall()
    if not rows:
        raise TableNotFoundError(f"table {table} does not exist in the connected database")
    return dict(rows)


def _resolved_config(
    expectation: Expectation, parameters: Mapping[str, Any]
) -> ExpectationConfiguration:
    """The expectation's configuration with ``$PARAMETER`` placeholders filled in by GX."""
    config = expectation.configuration
    config.process_suite_parameters(dict(parameters))
    return config


def _same_rule(a: ExpectationConfiguration, b: ExpectationConfiguration) -> bool:
    def rule(config: ExpectationConfiguration) -> dict[str, Any]:
        return {key: value for key, value in config.kwargs.items() if key != "batch_id"}

    return a.type == b.type and rule(a) == rule(b)


def _catalog_result(
    config: ExpectationConfiguration, column_types: Mapping[str, str]
) -> ExpectationValidationResult:
    kwargs = config.kwargs
    if config.type == "expect_table_columns_to_match_set":
        expected = list(kwargs["column_set"])
        missing = [c for c in expected if c not in column_types]
        unexpected = [c for c in column_types if c not in expected]
        exact = kwargs.get("exact_match", True)
        success = not missing and not (exact and unexpected)
        result = {
            "observed_value": list(column_types),
            "details": {"mismatched": {"missing": missing, "unexpected": unexpected}},
        }
        return verdict(config, success, result, ENGINE_DUCKDB_CATALOG)
    column = kwargs["column"]
    observed = column_types.get(column)
    if config.type == "expect_column_to_exist":
        accepted: list[str] | None = None
    elif config.type == "expect_column_values_to_be_of_type":
        accepted = [kwargs["type_"]]
    else:
        accepted = list(kwargs["type_list"])
    success = observed is not None and (
        accepted is None or _normal_type(observed) in {_normal_type(name) for name in accepted}
    )
    result = {"observed_value": observed if observed is not None else "column missing"}
    return verdict(config, success, result, ENGINE_DUCKDB_CATALOG)


def _normal_type(name: str) -> str:
    """DuckDB spells nested types with quoted field names (STRUCT("VALUE" DOUBLE)); compare
    type names without quotes, case or spacing."""
    return " ".join(name.replace('"', "").upper().split())


def _row_count_result(
    config: ExpectationConfiguration, row_count: int
) -> ExpectationValidationResult:
    success = between(row_count, config.kwargs)
    return verdict(config, success, {"observed_value": row_count}, ENGINE_DUCKDB_SQL)


def _missing_column_result(
    config: ExpectationConfiguration, missing: Sequence[str]
) -> ExpectationValidationResult:
    result = {"observed_value": f"column missing: {', '.join(missing)}"}
    return verdict(config, False, result, ENGINE_DUCKDB_CATALOG)
