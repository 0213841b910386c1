"""Data quality: each table's Great Expectations 1.x suite, built from its contract and
validated against the DuckDB warehouse.

| module | what it holds |
|---|---|
| :mod:`.suites` | the suite of a table, from the checks of its contract (pipeline/catalog) |
| :mod:`.expectations` | generic expectation helpers and the run-time suite parameters |
| :mod:`.runner` | :func:`validate_table`: each expectation to the engine that answers it |
| :mod:`.scope` | the rows a check validates: all, or those new since the last evaluation |
| :mod:`.gx_engine` | GX on a pandas frame of the needed columns (tables up to the row limit) |
| :mod:`.sql_engine` | the same expectations as DuckDB aggregates (larger tables) |
| :mod:`.report` | the report shown in Dagster, its Markdown, GX's JSON and HTML on disk |
| :mod:`.engines` | engine names, errors and the pieces of a verdict the engines share |

GX's SQL data source over duckdb-engine does not work with DuckDB 2.0, so the suites run on
pandas batches of the needed columns (the whole table, no sampling) and the same rules run
as DuckDB aggregates above ``pandas_row_limit`` (default 1,000,000). Schema and types are
always answered from DuckDB's catalog, the row count from ``count(*)``. Every result records
the engine that produced it (``meta.engine`` in the JSON, ``engine`` in the report).

Only data failures make a report unsuccessful. Anything GX raises while computing a metric
is a bug: :class:`QualityEngineError` is raised with GX's traceback instead of being
reported as a failed expectation. Row-count sanity and freshness compare against values
known only at run time: GX suite parameters (``{"$PARAMETER": name}``) filled by
:func:`suite_parameters`. Importing this package does not import GX.
"""

from pipeline.quality.engines import (
    SUPPORTED_EXPECTATION_TYPES,
    QualityEngineError,
    TableNotFoundError,
    UnsupportedExpectationError,
    split_table_name,
)
from pipeline.quality.expectations import (
    DEFAULT_FRESHNESS_DAYS,
    DEFAULT_FUTURE_TOLERANCE_DAYS,
    DEFAULT_PANDAS_ROW_LIMIT,
    DEFAULT_ROW_DROP_THRESHOLD,
    allowed_values,
    freshness,
    json_text,
    non_negative,
    not_null,
    positive,
    probability,
    row_count_sanity,
    schema,
    suite_parameters,
    unique_key,
    value_range,
)
from pipeline.quality.report import (
    HTML_CHOICES,
    HTML_FAILURES,
    ExpectationOutcome,
    ValidationReport,
    render_html,
)
from pipeline.quality.runner import validate_table
from pipeline.quality.scope import SCOPED_TABLES, ValidationScope, scope_for
from pipeline.quality.suites import describe_checks, suite_for, suite_names

__all__ = [
    "DEFAULT_FRESHNESS_DAYS",
    "DEFAULT_FUTURE_TOLERANCE_DAYS",
    "DEFAULT_PANDAS_ROW_LIMIT",
    "DEFAULT_ROW_DROP_THRESHOLD",
    "HTML_CHOICES",
    "HTML_FAILURES",
    "SCOPED_TABLES",
    "SUPPORTED_EXPECTATION_TYPES",
    "ExpectationOutcome",
    "QualityEngineError",
    "TableNotFoundError",
    "UnsupportedExpectationError",
    "ValidationReport",
    "ValidationScope",
    "allowed_values",
    "describe_checks",
    "freshness",
    "json_text",
    "non_negative",
    "not_null",
    "positive",
    "probability",
    "render_html",
    "row_count_sanity",
    "schema",
    "scope_for",
    "split_table_name",
    "suite_for",
    "suite_names",
    "suite_parameters",
    "unique_key",
    "validate_table",
    "value_range",
]
