"""Data-quality suites as code, validated with Great Expectations 1.x against DuckDB tables.

A *suite* is a plain list of GX expectation objects (``gx.expectations.Expect...``), built
for one table by :func:`suite_for` from small generic helpers (:func:`schema`,
:func:`not_null`, :func:`unique_key`, :func:`value_range`, :func:`allowed_values`,
:func:`freshness`, :func:`row_count_sanity`, ...). Later layers add their suites to
:data:`SUITES` with the same helpers.

:func:`validate_table` runs a suite over a table through a (read-only) DuckDB connection and
returns a :class:`ValidationReport`; it also writes GX's own
``ExpectationSuiteValidationResult`` as JSON (and GX's HTML rendering of it) under
``results_dir``.

Where each expectation runs
---------------------------
* **DuckDB catalog, always** - ``expect_table_columns_to_match_set``,
  ``expect_column_to_exist``, ``expect_column_values_to_be_of_type`` and
  ``expect_column_values_to_be_in_type_list`` are answered from
  ``information_schema.columns``. The contract BI reads is the DuckDB type
  (``BIGINT``, ``TIMESTAMP``), which a pandas frame cannot show: a ``BIGINT`` column becomes
  ``Int64`` or ``int64`` depending on nulls, ``VARCHAR`` and ``JSON`` both become ``str``.
  Expected types are DuckDB type names, compared case-insensitively.
* **DuckDB ``count(*)``, always** - ``expect_table_row_count_to_be_between`` (the row-count
  sanity check). The count is needed anyway to choose the engine below.
* **GX on pandas, for tables up to ``pandas_row_limit`` rows** (default 1,000,000) - every
  other expectation (not null, between, in set, JSON-parseable, unique column, unique
  compound key, column min/max). The frame holds only the columns these expectations name
  (``SELECT "a", "b" FROM table``), the whole table with no sampling, and GX computes the
  verdict, the unexpected counts and the examples.
* **DuckDB SQL, above ``pandas_row_limit``** - the same expectations are evaluated as
  aggregates in DuckDB (``count(*) FILTER (WHERE ...)``, ``GROUP BY key HAVING count(*) > 1``,
  ``max(col)``) with GX's semantics: nulls are ignored except by not-null, ``mostly`` is
  honoured, a duplicate counts every row of its group, rows whose key columns are all null
  are ignored by compound uniqueness. Memory stays bounded by DuckDB instead of by pandas.
  One known difference: on pandas a floating ``NaN`` counts as null, in DuckDB only ``NULL``
  does.

Every result records the engine that produced it (``meta.engine`` in the JSON, ``engine`` in
the report). An expectation of a type without a DuckDB implementation is rejected up front
(:class:`UnsupportedExpectationError`), whatever the table's size, so a suite cannot work
on small tables and break when the table grows.

Failures versus errors
----------------------
Only data failures make a report unsuccessful (a failed expectation, or a column a rule
needs missing from the table, which also fails the schema expectation). Anything GX raises
while computing a metric is a bug in the suite or the runner: :class:`QualityEngineError`
is raised with GX's traceback instead of being reported as a failed expectation.

Runtime parameters
------------------
Row-count sanity and freshness compare against values only known at run time. They are GX
suite parameters (``{"$PARAMETER": name}``), filled by :func:`suite_parameters` from the
previous materialization's row count and the run's reference time.

GX is imported lazily (inside functions): importing it takes about two seconds, and loading
the Dagster definitions should not pay for it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.catalog import TABLES
from pipeline.cleaning import ALL_RULES
from pipeline.features import RFM_SEGMENTS
from pipeline.sql_text import qualified, quote_identifier

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations import Expectation
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

ENGINE_GX_PANDAS = "gx-pandas"
ENGINE_DUCKDB_SQL = "duckdb-sql"
ENGINE_DUCKDB_CATALOG = "duckdb-catalog"

DEFAULT_PANDAS_ROW_LIMIT = 1_000_000
DEFAULT_ROW_DROP_THRESHOLD = 0.5
DEFAULT_FRESHNESS_DAYS = 7
DEFAULT_FUTURE_TOLERANCE_DAYS = 1

# Examples kept per expectation in the report; GX keeps up to PARTIAL_UNEXPECTED_COUNT
# failing values in the JSON result.
EXAMPLE_LIMIT = 5
PARTIAL_UNEXPECTED_COUNT = 20

# Suite parameters filled at run time by suite_parameters().
MIN_ROW_COUNT = "min_row_count"
FRESHNESS_MIN_TS = "freshness_min_ts"
FRESHNESS_MAX_TS = "freshness_max_ts"

_CATALOG_TYPES = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_column_to_exist",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
    }
)
_COUNT_TYPES = frozenset({"expect_table_row_count_to_be_between"})
# Column expectations that run through GX on pandas, or as DuckDB SQL above the row limit.
_DATA_TYPES = frozenset(
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
SUPPORTED_EXPECTATION_TYPES = _CATALOG_TYPES | _COUNT_TYPES | _DATA_TYPES

_KWARGS_NOT_SHOWN = frozenset({"batch_id", "column", "column_list", "result_format"})


class QualityEngineError(RuntimeError):
    """GX or DuckDB failed while computing a verdict: a bug, not a data-quality failure."""


class UnsupportedExpectationError(ValueError):
    """The suite uses an expectation type this runner cannot evaluate on every engine."""


class TableNotFoundError(LookupError):
    """The table to validate does not exist in the connected database."""


# --------------------------------------------------------------------------------------
# Table names (identifiers are quoted with pipeline.sql_text)
# --------------------------------------------------------------------------------------


def split_table_name(table: str) -> tuple[str, str]:
    """``"staging.transactions"`` -> ``("staging", "transactions")``; no dot means ``main``."""
    schema_name, dot, table_name = table.partition(".")
    return (schema_name, table_name) if dot else ("main", schema_name)


# --------------------------------------------------------------------------------------
# Generic expectation helpers (each returns a list so suites read as one concatenation)
# --------------------------------------------------------------------------------------


def _gx_expectations() -> Any:
    import great_expectations as gx  # slow import, see module docstring

    return gx.expectations


def schema(columns: Mapping[str, str | Sequence[str]]) -> list[Expectation]:
    """The columns exist (others may be added) with these DuckDB types.

    A value is one type name (``"VARCHAR"``) or a sequence of accepted names.
    """
    expectations = _gx_expectations()
    rules: list[Expectation] = [
        expectations.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False)
    ]
    for column, duckdb_type in columns.items():
        if isinstance(duckdb_type, str):
            rules.append(
                expectations.ExpectColumnValuesToBeOfType(column=column, type_=duckdb_type)
            )
        else:
            rules.append(
                expectations.ExpectColumnValuesToBeInTypeList(
                    column=column, type_list=list(duckdb_type)
                )
            )
    return rules


def catalog_schema(table: str) -> list[Expectation]:
    """:func:`schema` with the columns and types :mod:`pipeline.catalog` documents."""
    return schema({column.name: column.type for column in TABLES[table].columns})


def not_null(*columns: str) -> list[Expectation]:
    expectations = _gx_expectations()
    return [expectations.ExpectColumnValuesToNotBeNull(column=column) for column in columns]


def unique_key(*columns: str) -> list[Expectation]:
    """One row per key value (a single column or a compound key)."""
    expectations = _gx_expectations()
    if not columns:
        raise ValueError("unique_key needs at least one column")
    if len(columns) == 1:
        return [expectations.ExpectColumnValuesToBeUnique(column=columns[0])]
    return [expectations.ExpectCompoundColumnsToBeUnique(column_list=list(columns))]


def value_range(
    column: str,
    *,
    min_value: Any = None,
    max_value: Any = None,
    strict_min: bool = False,
    strict_max: bool = False,
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
        )
    ]


def positive(*columns: str) -> list[Expectation]:
    """Non-null values are > 0."""
    return [
        rule for column in columns for rule in value_range(column, min_value=0, strict_min=True)
    ]


def non_negative(*columns: str) -> list[Expectation]:
    """Non-null values are >= 0 (counts, recency in days)."""
    return [rule for column in columns for rule in value_range(column, min_value=0)]


def probability(*columns: str) -> list[Expectation]:
    """Non-null values lie in [0, 1]."""
    return [rule for column in columns for rule in value_range(column, min_value=0, max_value=1)]


def allowed_values(column: str, values: Sequence[Any]) -> list[Expectation]:
    """Non-null values belong to the label set."""
    expectations = _gx_expectations()
    return [expectations.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))]


def json_text(column: str) -> list[Expectation]:
    """Non-null values parse as JSON."""
    expectations = _gx_expectations()
    return [expectations.ExpectColumnValuesToBeJsonParseable(column=column)]


def freshness(column: str, *, severity: str = "warning") -> list[Expectation]:
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


def row_count_sanity() -> list[Expectation]:
    """The row count did not drop by more than the allowed share since the last run."""
    expectations = _gx_expectations()
    return [expectations.ExpectTableRowCountToBeBetween(min_value={"$PARAMETER": MIN_ROW_COUNT})]


# --------------------------------------------------------------------------------------
# Suites for the tables that exist now
# --------------------------------------------------------------------------------------

# Column names and DuckDB types come from pipeline.catalog (the documented contract); the
# rule names from pipeline.cleaning, so a new cleaning rule is accepted here automatically.
_TRANSACTION_REQUIRED = ("invoice_ts", "line_amount", "source_file", "source_row")
_LINEAGE_KEY = ("source_file", "source_sheet", "source_row")

EXCLUSION_RULES: tuple[str, ...] = tuple(
    rule.name for rule in ALL_RULES if rule.destination == "excluded"
)
LEDGER_STATUSES: tuple[str, ...] = ("loaded", "rejected", "superseded", "retracted")


def raw_transactions_suite() -> list[Expectation]:
    return [
        *catalog_schema("raw.transactions"),
        *not_null(*_TRANSACTION_REQUIRED),
        *unique_key(*_LINEAGE_KEY),
        *freshness("invoice_ts"),
        *row_count_sanity(),
    ]


def raw_quarantine_suite() -> list[Expectation]:
    return [
        *catalog_schema("raw.quarantine"),
        *not_null("source_file", "reason"),
        *json_text("raw_record"),
    ]


def raw_file_ledger_suite() -> list[Expectation]:
    return [
        *catalog_schema("raw.file_ledger"),
        *not_null("file_path", "content_hash", "status"),
        *allowed_values("status", LEDGER_STATUSES),
        *non_negative("size_bytes", "rows_read", "rows_loaded", "rows_quarantined"),
        *row_count_sanity(),
    ]


def staging_transactions_suite() -> list[Expectation]:
    return [
        *catalog_schema("staging.transactions"),
        *not_null("customer_id", *_TRANSACTION_REQUIRED),
        *positive("quantity", "unit_price", "line_amount"),
        *unique_key(*_LINEAGE_KEY),
        *freshness("invoice_ts"),
        *row_count_sanity(),
    ]


def staging_returns_suite() -> list[Expectation]:
    return [
        *catalog_schema("staging.returns"),
        *not_null("customer_id", *_TRANSACTION_REQUIRED),
        *unique_key(*_LINEAGE_KEY),
    ]


def staging_excluded_suite() -> list[Expectation]:
    return [
        *catalog_schema("staging.excluded"),
        *not_null("rule", *_TRANSACTION_REQUIRED),
        *allowed_values("rule", EXCLUSION_RULES),
        # pipeline.cleaning sends each raw row to exactly one table.
        *unique_key(*_LINEAGE_KEY),
    ]


VALUE_SEGMENTS: tuple[str, ...] = ("Low", "Mid", "High")
PURCHASE_STYLES: tuple[str, ...] = ("Regular", "Bulk", "Anomaly")
PERSONAS: tuple[str, ...] = ("Loyal Customers", "Big Spenders", "At Risk", "New / Occasional")
PERFORMANCE: tuple[str, ...] = ("over-performer", "accurate", "under-performer")
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high")


def _per_customer(table: str) -> list[Expectation]:
    """Schema from the catalog and exactly one row per customer."""
    return [*catalog_schema(table), *not_null("customer_id"), *unique_key("customer_id")]


def customer_rfm_suite() -> list[Expectation]:
    return [
        *_per_customer("features.customer_rfm"),
        *not_null("recency_days", "frequency", "monetary", "rfm_segment", "as_of"),
        *non_negative("recency_days", "tenure_days", "return_rate"),
        *positive("frequency"),
        *value_range("r_score", min_value=1, max_value=5),
        *value_range("f_score", min_value=1, max_value=5),
        *value_range("m_score", min_value=1, max_value=5),
        *allowed_values("rfm_segment", RFM_SEGMENTS),
        *row_count_sanity(),
    ]


def product_categories_suite() -> list[Expectation]:
    return [
        *catalog_schema("features.product_categories"),
        *not_null("stock_code", "category"),
        *unique_key("stock_code"),
    ]


def customer_value_suite() -> list[Expectation]:
    return [
        *_per_customer("segments.customer_value"),
        *not_null("value_segment"),
        *allowed_values("value_segment", VALUE_SEGMENTS),
    ]


def purchase_style_suite() -> list[Expectation]:
    return [
        *_per_customer("segments.purchase_style"),
        *not_null("purchase_style"),
        *allowed_values("purchase_style", PURCHASE_STYLES),
    ]


def personas_suite() -> list[Expectation]:
    return [
        *_per_customer("segments.personas"),
        *not_null("persona"),
        *allowed_values("persona", PERSONAS),
    ]


def churn_scores_suite() -> list[Expectation]:
    return [
        *_per_customer("scores.churn"),
        *not_null("churn_probability", "churn_risk_pct", "model_version"),
        *probability("churn_probability"),
        *value_range("churn_risk_pct", min_value=0, max_value=100),
        *allowed_values("churn_risk_band", RISK_BANDS),
    ]


def propensity_scores_suite() -> list[Expectation]:
    return [
        *_per_customer("scores.propensity"),
        *not_null("purchase_probability", "model_version"),
        *probability("purchase_probability", "bgnbd_p_alive"),
        *non_negative("expected_orders", "predicted_spend"),
        *value_range("propensity_decile", min_value=1, max_value=10),
    ]


def product_propensity_suite() -> list[Expectation]:
    return [
        *catalog_schema("scores.product_propensity"),
        *not_null("customer_id", "category", "probability"),
        *unique_key("customer_id", "category"),
        *probability("probability"),
    ]


def customer_segments_suite() -> list[Expectation]:
    return [
        *_per_customer("marts.customer_segments"),
        *not_null("action", "value_segment", "rfm_segment"),
        *probability("purchase_probability"),
        *value_range("churn_risk_pct", min_value=0, max_value=100),
        *allowed_values("value_segment", VALUE_SEGMENTS),
        *allowed_values("persona", PERSONAS),
        *row_count_sanity(),
    ]


def action_plan_suite() -> list[Expectation]:
    return [
        *catalog_schema("marts.action_plan"),
        *not_null("action", "rule_order"),
        *unique_key("rule_order"),
        *non_negative("customers"),
    ]


def segment_summary_suite() -> list[Expectation]:
    return [
        *catalog_schema("marts.segment_summary"),
        *not_null("segment_type", "customers"),
        *unique_key("segment_type", "segment"),
        *positive("customers"),
    ]


def underperformers_suite() -> list[Expectation]:
    return [
        *_per_customer("marts.underperformers"),
        *allowed_values("performance", PERFORMANCE),
        *probability("purchase_probability"),
    ]


def product_recommendations_suite() -> list[Expectation]:
    return [
        *catalog_schema("marts.product_recommendations"),
        *not_null("customer_id", "category", "probability"),
        *unique_key("customer_id", "category"),
        *probability("probability"),
    ]


def monthly_revenue_suite() -> list[Expectation]:
    return [
        *catalog_schema("marts.monthly_revenue"),
        *unique_key("month"),
        *positive("orders", "customers"),
    ]


def prediction_log_suite() -> list[Expectation]:
    return [
        *catalog_schema("marts.prediction_log"),
        *not_null("prediction_id", "input_key", "customer_id", "predicted_at"),
        *unique_key("prediction_id"),
        *unique_key("input_key"),
        *probability("purchase_probability"),
        *value_range("churn_risk_pct", min_value=0, max_value=100),
    ]


SUITES = {
    "raw.transactions": raw_transactions_suite,
    "raw.quarantine": raw_quarantine_suite,
    "raw.file_ledger": raw_file_ledger_suite,
    "staging.transactions": staging_transactions_suite,
    "staging.returns": staging_returns_suite,
    "staging.excluded": staging_excluded_suite,
    "features.customer_rfm": customer_rfm_suite,
    "features.product_categories": product_categories_suite,
    "segments.customer_value": customer_value_suite,
    "segments.purchase_style": purchase_style_suite,
    "segments.personas": personas_suite,
    "scores.churn": churn_scores_suite,
    "scores.propensity": propensity_scores_suite,
    "scores.product_propensity": product_propensity_suite,
    "marts.customer_segments": customer_segments_suite,
    "marts.action_plan": action_plan_suite,
    "marts.segment_summary": segment_summary_suite,
    "marts.underperformers": underperformers_suite,
    "marts.product_recommendations": product_recommendations_suite,
    "marts.monthly_revenue": monthly_revenue_suite,
    "marts.prediction_log": prediction_log_suite,
}


def suite_names() -> tuple[str, ...]:
    """Names :func:`suite_for` knows, without importing GX."""
    return tuple(SUITES)


def suite_for(name: str) -> list[Expectation]:
    """A fresh list of the expectations for table ``name`` (e.g. ``"staging.transactions"``)."""
    try:
        build = SUITES[name]
    except KeyError:
        raise KeyError(f"no data-quality suite named {name!r}; known: {sorted(SUITES)}") from None
    return build()


# --------------------------------------------------------------------------------------
# Run-time parameters
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, flattened for people (Dagster metadata, logs)."""

    expectation_type: str
    column: str | None
    kwargs_summary: str
    severity: str
    engine: str
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    unexpected_examples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ValidationReport:
    table: str
    success: bool
    row_count: int
    engine: str
    run_time: dt.datetime
    suite_parameters: dict[str, Any]
    outcomes: tuple[ExpectationOutcome, ...]
    result_path: Path | None = None
    html_path: Path | None = None
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    @property
    def failed_severity(self) -> str | None:
        """``"critical"`` if a critical expectation failed, ``"warning"`` if only lesser ones
        did, None when everything passed."""
        failures = self.failures
        if not failures:
            return None
        return "critical" if any(f.severity == "critical" for f in failures) else "warning"

    def to_markdown(self) -> str:
        """A table of every expectation: verdict, rule, observed value, failing examples."""
        lines = [
            "| | expectation | column | rule | severity | observed | unexpected | examples "
            "| engine |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for outcome in self.outcomes:
            if outcome.success:
                mark = "✅"
            else:
                mark = "❌" if outcome.severity == "critical" else "⚠️"
            examples = ", ".join(_short(example) for example in outcome.unexpected_examples)
            cells = [
                mark,
                outcome.expectation_type.removeprefix("expect_"),
                outcome.column or "",
                outcome.kwargs_summary,
                outcome.severity,
                outcome.observed_value or "",
                "" if outcome.unexpected_count is None else f"{outcome.unexpected_count:,}",
                examples,
                outcome.engine,
            ]
            lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
        return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, Mapping):  # a compound key
        text = "(" + ", ".join(_short(item, limit) for item in value.values()) + ")"
    else:
        text = "NULL" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------


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
    write_html: bool = True,
) -> ValidationReport:
    """Validate ``table`` (``schema.name``) against ``suite``; see the module docstring.

    Reads only: the connection may be read-only. ``reference_time`` (naive, like the
    warehouse's TIMESTAMP columns) defaults to the run time in UTC, the clock the staging
    ``future_date`` rule uses. Writes
    ``results_dir/<table>-<UTC timestamp>.json`` (GX's validation result) and, when
    ``write_html``, GX's HTML rendering beside it; nothing is written when ``results_dir``
    is None.
    """
    run_time = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    reference_time = reference_time or run_time
    parameters = suite_parameters(
        previous_row_count=previous_row_count,
        row_drop_threshold=row_drop_threshold,
        freshness_days=freshness_days,
        future_tolerance_days=future_tolerance_days,
        reference_time=reference_time,
    )
    unsupported = sorted(
        {e.expectation_type for e in suite} - SUPPORTED_EXPECTATION_TYPES  # type: ignore[attr-defined]
    )
    if unsupported:
        raise UnsupportedExpectationError(
            f"suite for {table} uses {unsupported}; "
            f"supported: {sorted(SUPPORTED_EXPECTATION_TYPES)}"
        )

    column_types = _column_types(connection, table)
    table_sql = qualified(table)
    (row_count,) = _fetch_one(connection, f"SELECT count(*) FROM {table_sql}")  # noqa: S608
    engine = ENGINE_GX_PANDAS if row_count <= pandas_row_limit else ENGINE_DUCKDB_SQL

    results: list[ExpectationValidationResult | None] = [None] * len(suite)
    configs = [_resolved_config(expectation, parameters) for expectation in suite]
    data_positions: list[int] = []
    for position, config in enumerate(configs):
        missing = [c for c in _columns_of(config) if c not in column_types]
        if config.type in _CATALOG_TYPES:
            results[position] = _catalog_result(config, column_types)
        elif config.type in _COUNT_TYPES:
            results[position] = _row_count_result(config, row_count)
        elif missing:
            results[position] = _missing_column_result(config, missing)
        elif engine == ENGINE_DUCKDB_SQL:
            results[position] = _sql_result(connection, table_sql, config, row_count)
        else:
            data_positions.append(position)

    if data_positions:
        gx_results = _validate_with_gx(
            connection, table, table_sql, [suite[p] for p in data_positions], parameters
        )
        # GX groups results by metric, not in suite order: put each back where it was asked.
        for result in gx_results:
            position = next(
                (
                    p
                    for p in data_positions
                    if results[p] is None and _same_rule(result.expectation_config, configs[p])
                ),
                None,
            )
            if position is None:
                raise QualityEngineError(f"GX returned a result nobody asked for: {result}")
            results[position] = result

    final_results = [result for result in results if result is not None]
    suite_result = _suite_result(
        table, final_results, parameters, row_count=row_count, engine=engine, run_time=run_time
    )
    result_path = html_path = None
    if results_dir is not None:
        result_path, html_path = _write_results(
            suite_result, Path(results_dir), table, write_html=write_html
        )
    outcomes = tuple(_outcome(result) for result in final_results)
    return ValidationReport(
        table=table,
        success=all(outcome.success for outcome in outcomes),
        row_count=row_count,
        engine=engine,
        run_time=run_time,
        suite_parameters=parameters,
        outcomes=outcomes,
        result_path=result_path,
        html_path=html_path,
        statistics=dict(suite_result.statistics),
    )


def _fetch_one(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()
) -> tuple[Any, ...]:
    """The single row of an aggregate query, read to the end (see pipeline.sql_text.one_row;
    this one binds positional parameters)."""
    rows = connection.execute(sql, list(parameters)).fetchall()
    if len(rows) != 1:
        raise QualityEngineError(f"expected one row, got {len(rows)} from: {sql.strip()[:80]}")
    return rows[0]


_COLUMNS_SQL = """
SELECT column_name, upper(data_type)
FROM information_schema.columns
WHERE table_catalog = current_database()
  AND table_schema = ?
  AND table_name = ?
ORDER BY ordinal_position
"""


def _column_types(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema_name, table_name = split_table_name(table)
    rows = connection.execute(_COLUMNS_SQL, [schema_name, table_name]).fetchall()
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


def _columns_of(config: ExpectationConfiguration) -> list[str]:
    kwargs = config.kwargs
    if config.type == "expect_table_columns_to_match_set":
        return []
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    if "column" in kwargs:
        return [kwargs["column"]]
    return []


def _result(
    config: ExpectationConfiguration, success: bool, result: dict[str, Any], engine: str
) -> ExpectationValidationResult:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    return ExpectationValidationResult(
        success=success, expectation_config=config, result=result, meta={"engine": engine}
    )


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
        return _result(config, success, result, ENGINE_DUCKDB_CATALOG)
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
    return _result(config, success, result, ENGINE_DUCKDB_CATALOG)


def _normal_type(name: str) -> str:
    """DuckDB spells nested types with quoted field names (STRUCT("VALUE" DOUBLE)); compare
    type names without quotes, case or spacing."""
    return " ".join(name.replace('"', "").upper().split())


def _between(value: Any, kwargs: Mapping[str, Any]) -> bool:
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


def _row_count_result(
    config: ExpectationConfiguration, row_count: int
) -> ExpectationValidationResult:
    success = _between(row_count, config.kwargs)
    return _result(config, success, {"observed_value": row_count}, ENGINE_DUCKDB_SQL)


def _missing_column_result(
    config: ExpectationConfiguration, missing: Sequence[str]
) -> ExpectationValidationResult:
    result = {"observed_value": f"column missing: {', '.join(missing)}"}
    return _result(config, False, result, ENGINE_DUCKDB_CATALOG)


# ---- DuckDB SQL implementations (tables above pandas_row_limit) ----------------------


def _sql_result(
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
        (observed,) = _fetch_one(
            connection,
            f"SELECT {aggregate}({column_sql}) FROM {table_sql}",  # noqa: S608
        )
        success = _between(observed, kwargs)
        return _result(config, success, {"observed_value": observed}, ENGINE_DUCKDB_SQL)
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
    missing_count, unexpected_count = _fetch_one(
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
    return _result(config, success, result, ENGINE_DUCKDB_SQL)


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
    missing_count, unexpected_count = _fetch_one(
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
    return _result(config, success, result, ENGINE_DUCKDB_SQL)


# ---- GX on pandas (tables up to pandas_row_limit) -------------------------------------

_GX_LOCK = threading.Lock()


@cache
def _gx_batch_definition() -> Any:
    """One ephemeral GX context per process with a pandas whole-dataframe batch definition.

    Reused by every validation (context creation and asset registration are not free); the
    lock in :func:`_validate_with_gx` keeps threads from sharing a batch at once.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas(name="duckdb_tables").add_dataframe_asset(
        name="table_frame"
    )
    return asset.add_batch_definition_whole_dataframe(name="whole_table")


def _validate_with_gx(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    table_sql: str,
    expectations: Sequence[Expectation],
    parameters: Mapping[str, Any],
) -> list[ExpectationValidationResult]:
    import great_expectations as gx

    needed: list[str] = []
    for expectation in expectations:
        for column in _columns_of(expectation.configuration):
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


# ---- Results -------------------------------------------------------------------------


def _suite_result(
    table: str,
    results: list[ExpectationValidationResult],
    parameters: Mapping[str, Any],
    *,
    row_count: int,
    engine: str,
    run_time: dt.datetime,
) -> ExpectationSuiteValidationResult:
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult

    successful = sum(1 for result in results if result.success)
    statistics = {
        "evaluated_expectations": len(results),
        "successful_expectations": successful,
        "unsuccessful_expectations": len(results) - successful,
        "success_percent": successful / len(results) * 100 if results else None,
    }
    return ExpectationSuiteValidationResult(
        success=successful == len(results),
        results=results,
        suite_name=table,
        suite_parameters=dict(parameters),
        statistics=statistics,
        meta={
            # run_id and batch_spec are the keys GX's HTML renderer reads for its header.
            "run_id": {"run_name": f"{table} check", "run_time": run_time.isoformat() + "Z"},
            "batch_spec": {"data_asset_name": table, "engine": engine},
            "table": table,
            "row_count": row_count,
            "engine": engine,
            "run_time": run_time.isoformat(),
            "great_expectations_version": gx.__version__,
            "duckdb_version": duckdb.__version__,
        },
    )


def _write_results(
    suite_result: ExpectationSuiteValidationResult,
    results_dir: Path,
    table: str,
    *,
    write_html: bool,
) -> tuple[Path, Path | None]:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = f"{table}-{stamp}"
    result_path = results_dir / f"{stem}.json"
    result_path.write_text(json.dumps(suite_result.to_json_dict(), indent=2), encoding="utf-8")
    html_path = None
    if write_html:
        from great_expectations.render.renderer import ValidationResultsPageRenderer
        from great_expectations.render.view import DefaultJinjaPageView

        document = ValidationResultsPageRenderer().render(suite_result)
        html_path = results_dir / f"{stem}.html"
        html_path.write_text(DefaultJinjaPageView().render(document), encoding="utf-8")
    return result_path, html_path


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a value GX or DuckDB returned (NaN/NA/NaT -> None)."""
    import pandas as pd

    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _kwargs_summary(kwargs: Mapping[str, Any]) -> str:
    parts = []
    for key, value in kwargs.items():
        if key in _KWARGS_NOT_SHOWN or value is None or value is False:
            continue
        plain = _plain(value)
        if isinstance(plain, list) and len(plain) > 6:
            plain = [*plain[:6], "…"]
        parts.append(f"{key}={plain}")
    return ", ".join(parts)


def _observed(result: Mapping[str, Any]) -> str | None:
    if "observed_value" in result:
        observed = _plain(result["observed_value"])
        return "NULL (no rows)" if observed is None else str(observed)
    if "unexpected_count" in result:
        element_count = result.get("element_count") or 0
        percent = result.get("unexpected_percent")
        share = f"{percent:.3g} %" if percent is not None else "n/a"
        return f"{share} unexpected of {element_count:,} rows"
    return None


def _outcome(validation_result: ExpectationValidationResult) -> ExpectationOutcome:
    config = validation_result.expectation_config
    kwargs = config.kwargs
    result = validation_result.result or {}
    column = kwargs.get("column")
    if column is None and "column_list" in kwargs:
        column = ", ".join(kwargs["column_list"])
    examples: list[Any] = []
    for value in result.get("partial_unexpected_list") or []:
        plain = _plain(value)
        if plain is not None and plain not in examples:
            examples.append(plain)
        if len(examples) == EXAMPLE_LIMIT:
            break
    if config.type == "expect_table_columns_to_match_set":
        examples = list(result.get("details", {}).get("mismatched", {}).get("missing", []))
    severity = getattr(config.severity, "value", config.severity)
    unexpected_count = result.get("unexpected_count")
    return ExpectationOutcome(
        expectation_type=config.type,
        column=column,
        kwargs_summary=_kwargs_summary(kwargs),
        severity=str(severity),
        engine=str((validation_result.meta or {}).get("engine", ENGINE_GX_PANDAS)),
        success=bool(validation_result.success),
        observed_value=_observed(result),
        unexpected_count=None if unexpected_count is None else int(unexpected_count),
        unexpected_examples=tuple(examples),
    )
