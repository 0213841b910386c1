"""What the engines share: their names, the errors, and the building blocks of a verdict.

Three engines answer the expectations of a suite (see :mod:`pipeline.quality`): the DuckDB
catalog (schema and types), DuckDB aggregates (row counts; every rule above the pandas row
limit, :mod:`.sql_engine`) and GX on a pandas frame (:mod:`.gx_engine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

ENGINE_GX_PANDAS = "gx-pandas"
ENGINE_DUCKDB_SQL = "duckdb-sql"
ENGINE_DUCKDB_CATALOG = "duckdb-catalog"

# GX keeps up to this many failing values in the JSON result.
PARTIAL_UNEXPECTED_COUNT = 20

CATALOG_TYPES = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_column_to_exist",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
    }
)
COUNT_TYPES = frozenset({"expect_table_row_count_to_be_between"})
# Column expectations that run through GX on pandas, or as DuckDB SQL above the row limit.
DATA_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_max_to_be_between",
        "expect_column_min_to_be_between",
    }
)
SUPPORTED_EXPECTATION_TYPES = CATALOG_TYPES | COUNT_TYPES | DATA_TYPES
# Expectations that hold or fail row by row (key uniqueness: for the rows' keys).
ROW_LEVEL = DATA_TYPES - {"expect_column_max_to_be_between", "expect_column_min_to_be_between"}


class QualityEngineError(RuntimeError):
    """GX or DuckDB failed while computing a verdict: a bug, not a data-quality failure."""


class UnsupportedExpectationError(ValueError):
    """The suite uses an expectation type this runner cannot evaluate on every engine."""


class TableNotFoundError(LookupError):
    """The table to validate does not exist in the connected database."""


def split_table_name(table: str) -> tuple[str, str]:
    """``"staging.transactions"`` -> ``("staging", "transactions")``; no dot means ``main``."""
    schema_name, dot, table_name = table.partition(".")
    return (schema_name, table_name) if dot else ("main", schema_name)


def fetch_one(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()
) -> tuple[Any, ...]:
    """The single row of an aggregate query, read to the end (see pipeline.sql_text.one_row;
    this one binds positional parameters)."""
    rows = connection.execute(sql, list(parameters)).fetchall()
    if len(rows) != 1:
        raise QualityEngineError(f"expected one row, got {len(rows)} from: {sql.strip()[:80]}")
    return rows[0]


def columns_of(config: ExpectationConfiguration) -> list[str]:
    """The columns an expectation reads (none for the column-set expectation)."""
    kwargs = config.kwargs
    if config.type == "expect_table_columns_to_match_set":
        return []
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    if "column" in kwargs:
        return [kwargs["column"]]
    return []


def verdict(
    config: ExpectationConfiguration, success: bool, result: dict[str, Any], engine: str
) -> ExpectationValidationResult:
    """A GX validation result computed outside GX, tagged with the engine that computed it."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    return ExpectationValidationResult(
        success=success, expectation_config=config, result=result, meta={"engine": engine}
    )


def between(value: Any, kwargs: Mapping[str, Any]) -> bool:
    """GX's ``min_value`` / ``max_value`` / ``strict_*`` test of one observed value."""
    if value is None:
        return False
    min_value, max_value = kwargs.get("min_value"), kwargs.get("max_value")
    if min_value is not None:
        if value < min_value or (kwargs.get("strict_min") and value == min_value):
            return False
    if max_value is not None:
        if value > max_value or (kwargs.get("strict_max") and value == max_value):
            return False
    return True
