"""The GX engine: expectations validated by Great Expectations on a pandas frame, for tables
up to the pandas row limit.

The frame holds only the columns the expectations name (``SELECT "a", "b" FROM table``),
the whole table with no sampling, and GX computes the verdict, the unexpected counts and the
examples. Anything GX raises while computing a metric is a bug in the suite or the runner:
:class:`~pipeline.quality.engines.QualityEngineError` carries GX's traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.quality.engines import (
    ENGINE_GX_PANDAS,
    PARTIAL_UNEXPECTED_COUNT,
    QualityEngineError,
    columns_of,
)
from pipeline.sql_text import quote_identifier

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations import Expectation


_GX_LOCK = threading.Lock()


@cache
def _gx_batch_definition() -> Any:
    """One ephemeral GX context per process with a pandas whole-dataframe batch definition.

    Reused by every validation (context creation and asset registration are not free); the
    lock in :func:`validate_with_gx` keeps threads from sharing a batch at once.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(name="duckdb_tables").add_dataframe_asset(
        name="table_frame"
    )
    return asset.add_batch_definition_whole_dataframe(name="whole_table")


def validate_with_gx(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    table_sql: str,
    expectations: Sequence[Expectation],
    parameters: Mapping[str, Any],
) -> list[ExpectationValidationResult]:
    import great_expectations as gx

    needed: list[str] = []
    for expectation in expectations:
        for column in columns_of(expectation.configuration):
            if column not in needed:
                needed.append(column)
    columns_sql = ", ".join(quote_identifier(c) for c in needed) or "1 AS no_columns"
    frame = connection.execute(f"SELECT {columns_sql} FROM {table_sql}").df()  # noqa: S608

    suite = gx.ExpectationSuite(name=table, expectations=list(expectations))
    with _GX_LOCK:
        batch = _gx_batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite_result = batch.validate(
            suite,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
            },
            expectation_parameters=dict(parameters),
        )
    for result in suite_result.results:
        if _raised(result.exception_info):
            config = result.expectation_config
            raise QualityEngineError(
                f"GX failed to evaluate {config.type} {config.kwargs} on {table}:\n"
                f"{_traceback(result.exception_info)}"
            )
        result.meta = {**(result.meta or {}), "engine": ENGINE_GX_PANDAS}
    return list(suite_result.results)


def _raised(exception_info: Mapping[str, Any] | None) -> bool:
    """GX reports exceptions either flat or keyed by metric id."""
    if not exception_info:
        return False
    if "raised_exception" in exception_info:
        return bool(exception_info["raised_exception"])
    return any(
        isinstance(info, Mapping) and info.get("raised_exception", True)
        for info in exception_info.values()
    )


def _traceback(exception_info: Mapping[str, Any]) -> str:
    if "exception_traceback" in exception_info:
        return str(exception_info.get("exception_traceback") or exception_info)
    return "\n".join(
        str(info.get("exception_traceback") or info.get("exception_message"))
        for info in exception_info.values()
        if isinstance(info, Mapping)
    )
