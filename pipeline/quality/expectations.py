"""Generic expectation helpers, each returning a list of GX expectations, and the run-time
parameters of the two that depend on the run (row-count sanity and freshness).

``severity`` is GX's: ``"critical"`` (a failure fails the check with severity ERROR and,
when the check is blocking, stops the downstream assets) or ``"warning"``. GX is imported
when a helper is called, not when this module is: importing it takes about two seconds, and
loading the Dagster definitions should not pay for it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

CRITICAL, WARNING = "critical", "warning"
DEFAULT_PANDAS_ROW_LIMIT = 1_000_000
DEFAULT_ROW_DROP_THRESHOLD = 0.5
DEFAULT_FRESHNESS_DAYS = 7
DEFAULT_FUTURE_TOLERANCE_DAYS = 1

# Suite parameters filled at run time by suite_parameters().
MIN_ROW_COUNT = "min_row_count"
FRESHNESS_MIN_TS = "freshness_min_ts"
FRESHNESS_MAX_TS = "freshness_max_ts"


def _gx_expectations() -> Any:
    import great_expectations as gx  # slow import, see module docstring

    return gx.expectations


def schema(
    columns: Mapping[str, str | Sequence[str]], *, severity: str = CRITICAL
) -> list[Expectation]:
    """The columns exist (others may be added) with these DuckDB types.

    A value is one type name (``"VARCHAR"``) or a sequence of accepted names.
    """
    expectations = _gx_expectations()
    rules: list[Expectation] = [
        expectations.ExpectTableColumnsToMatchSet(
            column_set=list(columns), exact_match=False, severity=severity
        )
    ]
    for column, duckdb_type in columns.items():
        if isinstance(duckdb_type, str):
            rules.append(
                expectations.ExpectColumnValuesToBeOfType(
                    column=column, type_=duckdb_type, severity=severity
                )
            )
        else:
            rules.append(
                expectations.ExpectColumnValuesToBeInTypeList(
                    column=column, type_list=list(duckdb_type), severity=severity
                )
            )
    return rules


def not_null(*columns: str, severity: str = CRITICAL) -> list[Expectation]:
    expectations = _gx_expectations()
    return [
        expectations.ExpectColumnValuesToNotBeNull(column=column, severity=severity)
        for column in columns
    ]


def unique_key(*columns: str, severity: str = CRITICAL) -> list[Expectation]:
    """One row per key value (a single column or a compound key)."""
    expectations = _gx_expectations()
    if not columns:
        raise ValueError("unique_key needs at least one column")
    if len(columns) == 1:
        return [expectations.ExpectColumnValuesToBeUnique(column=columns[0], severity=severity)]
    return [
        expectations.ExpectCompoundColumnsToBeUnique(column_list=list(columns), severity=severity)
    ]


def value_range(
    column: str,
    *,
    min_value: Any = None,
    max_value: Any = None,
    strict_min: bool = False,
    strict_max: bool = False,
    severity: str = CRITICAL,
) -> list[Expectation]:
    """Non-null values lie within the bounds (nulls are left to :func:`not_null`)."""
    if min_value is None and max_value is None:
        raise ValueError(f"value_range on {column!r} needs min_value or max_value")
    expectations = _gx_expectations()
    return [
        expectations.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=min_value,
            max_value=max_value,
            strict_min=strict_min,
            strict_max=strict_max,
            severity=severity,
        )
    ]


def positive(*columns: str, severity: str = CRITICAL) -> list[Expectation]:
    """Non-null values are > 0."""
    return [
        rule
        for column in columns
        for rule in value_range(column, min_value=0, strict_min=True, severity=severity)
    ]


def non_negative(*columns: str, severity: str = CRITICAL) -> list[Expectation]:
    """Non-null values are >= 0 (counts, recency in days)."""
    return [
        rule for column in columns for rule in value_range(column, min_value=0, severity=severity)
    ]


def probability(*columns: str, severity: str = CRITICAL) -> list[Expectation]:
    """Non-null values lie in [0, 1]."""
    return [
        rule
        for column in columns
        for rule in value_range(column, min_value=0, max_value=1, severity=severity)
    ]


def allowed_values(
    column: str, values: Sequence[Any], *, severity: str = CRITICAL
) -> list[Expectation]:
    """Non-null values belong to the label set."""
    expectations = _gx_expectations()
    return [
        expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set=list(values), severity=severity
        )
    ]


def json_text(column: str, *, severity: str = CRITICAL) -> list[Expectation]:
    """Non-null values parse as JSON."""
    expectations = _gx_expectations()
    return [expectations.ExpectColumnValuesToBeJsonParseable(column=column, severity=severity)]


def freshness(column: str, *, severity: str = WARNING) -> list[Expectation]:
    """The latest ``column`` value is not in the future and not older than the window.

    The window comes from :func:`suite_parameters` (``freshness_days`` before the reference
    time up to ``future_tolerance_days`` after it). It is a *warning* by default: historical
    data (the demo's latest transaction is from 2011) must not block a run, but the person
    reading the check still sees that the data is old.
    """
    expectations = _gx_expectations()
    return [
        expectations.ExpectColumnMaxToBeBetween(
            column=column,
            min_value={"$PARAMETER": FRESHNESS_MIN_TS},
            max_value={"$PARAMETER": FRESHNESS_MAX_TS},
            severity=severity,
        )
    ]


def row_count_sanity(*, severity: str = CRITICAL) -> list[Expectation]:
    """The row count did not drop by more than the allowed share since the last run."""
    expectations = _gx_expectations()
    return [
        expectations.ExpectTableRowCountToBeBetween(
            min_value={"$PARAMETER": MIN_ROW_COUNT}, severity=severity
        )
    ]


def suite_parameters(
    *,
    previous_row_count: int | None,
    row_drop_threshold: float = DEFAULT_ROW_DROP_THRESHOLD,
    freshness_days: int = DEFAULT_FRESHNESS_DAYS,
    future_tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS,
    reference_time: dt.datetime,
) -> dict[str, Any]:
    """Values for the ``$PARAMETER`` placeholders of :func:`row_count_sanity` and
    :func:`freshness`.

    Without a previous count the minimum is 0 (first materialization). Otherwise a drop of
    more than ``row_drop_threshold`` (a share, 0.5 = 50 %) fails: ``count >= previous * (1 -
    threshold)``. Freshness accepts a latest timestamp from ``freshness_days`` before
    ``reference_time`` to ``future_tolerance_days`` after it.
    """
    if not 0 <= row_drop_threshold <= 1:
        raise ValueError(f"row_drop_threshold must be a share in [0, 1], got {row_drop_threshold}")
    min_row_count = 0
    if previous_row_count:
        min_row_count = math.ceil(previous_row_count * (1 - row_drop_threshold))
    return {
        MIN_ROW_COUNT: min_row_count,
        FRESHNESS_MIN_TS: reference_time - dt.timedelta(days=freshness_days),
        FRESHNESS_MAX_TS: reference_time + dt.timedelta(days=future_tolerance_days),
    }
