"""The DuckDB SQL engine: the column expectations as aggregates, for tables above the pandas
row limit.

Same semantics as GX: nulls are ignored except by not-null, ``mostly`` is honoured, a
duplicate counts every row of its group, rows whose key columns are all null are ignored by
compound uniqueness. One known difference: on pandas a floating ``NaN`` counts as null, in
DuckDB only ``NULL`` does. The statements are generated (they name the expectation's
columns), with identifiers quoted and values bound as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.quality.engines import (
    ENGINE_DUCKDB_SQL,
    PARTIAL_UNEXPECTED_COUNT,
    QualityEngineError,
    between,
    fetch_one,
    verdict,
)
from pipeline.sql_text import quote_identifier

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )


def sql_result(
    connection: duckdb.DuckDBPyConnection,
    table_sql: str,
    config: ExpectationConfiguration,
    row_count: int,
) -> ExpectationValidationResult:
    kwargs = config.kwargs
    kind = config.type
    if kind in ("expect_column_max_to_be_between", "expect_column_min_to_be_between"):
        aggregate = "max" if kind == "expect_column_max_to_be_between" else "min"
        column_sql = quote_identifier(kwargs["column"])
        (observed,) = fetch_one(
            connection,
            f"SELECT {aggregate}({column_sql}) FROM {table_sql}",  # noqa: S608
        )
        success = between(observed, kwargs)
        return verdict(config, success, {"observed_value": observed}, ENGINE_DUCKDB_SQL)
    if kind == "expect_column_values_to_be_unique":
        return _sql_duplicates(connection, table_sql, config, [kwargs["column"]], row_count)
    if kind == "expect_compound_columns_to_be_unique":
        return _sql_duplicates(
            connection, table_sql, config, list(kwargs["column_list"]), row_count
        )
    return _sql_column_map(connection, table_sql, config, row_count)


def _map_result(
    *,
    element_count: int,
    missing_count: int | None,
    unexpected_count: int,
    examples: list[Any],
    mostly: float,
) -> tuple[bool, dict[str, Any]]:
    """GX's SUMMARY shape and ``mostly`` rule for a column-map expectation.

    ``missing_count`` None means nulls are themselves the unexpected values (not-null).
    """

    def percent(part: int, whole: int) -> float | None:
        return part / whole * 100 if whole else None

    if missing_count is None:
        denominator = element_count
        result: dict[str, Any] = {
            "element_count": element_count,
            "unexpected_count": unexpected_count,
            "unexpected_percent": percent(unexpected_count, element_count),
            "partial_unexpected_list": examples,
        }
    else:
        denominator = element_count - missing_count
        result = {
            "element_count": element_count,
            "unexpected_count": unexpected_count,
            "unexpected_percent": percent(unexpected_count, denominator),
            "partial_unexpected_list": examples,
            "missing_count": missing_count,
            "missing_percent": percent(missing_count, element_count),
            "unexpected_percent_total": percent(unexpected_count, element_count),
            "unexpected_percent_nonmissing": percent(unexpected_count, denominator),
        }
    success = denominator == 0 or (denominator - unexpected_count) / denominator >= mostly
    return success, result


def _sql_column_map(
    connection: duckdb.DuckDBPyConnection,
    table_sql: str,
    config: ExpectationConfiguration,
    row_count: int,
) -> ExpectationValidationResult:
    kwargs = config.kwargs
    column_sql = quote_identifier(kwargs["column"])
    parameters: list[Any] = []
    if config.type == "expect_column_values_to_not_be_null":
        unexpected_sql = f"{column_sql} IS NULL"
    elif config.type == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{column_sql} {'<=' if kwargs.get('strict_min') else '<'} ?")
            parameters.append(kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            bounds.append(f"{column_sql} {'>=' if kwargs.get('strict_max') else '>'} ?")
            parameters.append(kwargs["max_value"])
        unexpected_sql = f"{column_sql} IS NOT NULL AND ({' OR '.join(bounds) or 'false'})"
    elif config.type == "expect_column_values_to_be_in_set":
        value_set = list(kwargs["value_set"])
        placeholders = ", ".join("?" for _ in value_set) or "NULL"
        unexpected_sql = f"{column_sql} IS NOT NULL AND {column_sql} NOT IN ({placeholders})"
        parameters.extend(value_set)
    elif config.type == "expect_column_values_to_be_json_parseable":
        unexpected_sql = f"{column_sql} IS NOT NULL AND NOT json_valid({column_sql})"
    else:  # guarded by SUPPORTED_EXPECTATION_TYPES; reaching here is a bug
        raise QualityEngineError(f"no DuckDB implementation for {config.type}")

    nulls_unexpected = config.type == "expect_column_values_to_not_be_null"
    missing_count, unexpected_count = fetch_one(
        connection,
        f"SELECT count(*) FILTER (WHERE {column_sql} IS NULL), "  # noqa: S608
        f"count(*) FILTER (WHERE {unexpected_sql}) FROM {table_sql}",
        parameters,
    )
    examples = [
        row[0]
        for row in connection.execute(
            f"SELECT {column_sql} FROM {table_sql} WHERE {unexpected_sql} "  # noqa: S608
            f"LIMIT {PARTIAL_UNEXPECTED_COUNT}",
            parameters,
        ).fetchall()
    ]
    success, result = _map_result(
        element_count=row_count,
        missing_count=None if nulls_unexpected else missing_count,
        unexpected_count=unexpected_count,
        examples=examples,
        mostly=kwargs.get("mostly", 1.0),
    )
    return verdict(config, success, result, ENGINE_DUCKDB_SQL)


def _sql_duplicates(
    connection: duckdb.DuckDBPyConnection,
    table_sql: str,
    config: ExpectationConfiguration,
    columns: Sequence[str],
    row_count: int,
) -> ExpectationValidationResult:
    """Uniqueness as ``GROUP BY key HAVING count(*) > 1``; every row of a group counts, as
    in GX, and rows whose key is entirely null are ignored."""
    keys_sql = ", ".join(quote_identifier(c) for c in columns)
    all_null_sql = " AND ".join(f"{quote_identifier(c)} IS NULL" for c in columns)
    missing_count, unexpected_count = fetch_one(
        connection,
        f"""
        WITH duplicated AS (
            SELECT {keys_sql}, count(*) AS row_count
            FROM {table_sql}
            WHERE NOT ({all_null_sql})
            GROUP BY ALL
            HAVING count(*) > 1
        )
        SELECT (SELECT count(*) FROM {table_sql} WHERE {all_null_sql}),
               (SELECT coalesce(sum(row_count), 0) FROM duplicated)
        """,  # noqa: S608
    )
    sample = connection.execute(
        f"SELECT {keys_sql} FROM {table_sql} WHERE NOT ({all_null_sql}) "  # noqa: S608
        f"GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT {PARTIAL_UNEXPECTED_COUNT}"
    ).fetchall()
    if len(columns) == 1:
        examples: list[Any] = [row[0] for row in sample]
    else:
        examples = [dict(zip(columns, row, strict=True)) for row in sample]
    success, result = _map_result(
        element_count=row_count,
        missing_count=missing_count,
        unexpected_count=int(unexpected_count),
        examples=examples,
        mostly=config.kwargs.get("mostly", 1.0),
    )
    return verdict(config, success, result, ENGINE_DUCKDB_SQL)
