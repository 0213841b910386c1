"""Validation results for people and for disk: the flattened report shown in Dagster, its
Markdown table, and GX's own suite result written as JSON (and GX's HTML rendering)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.quality.engines import ENGINE_GX_PANDAS, ROW_LEVEL

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

# Examples kept per expectation in the report.
EXAMPLE_LIMIT = 5
_KWARGS_NOT_SHOWN = frozenset({"batch_id", "column", "column_list", "result_format"})


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
    validated_rows: int | None = None  # rows the row-level expectations read
    scope: str = "whole table"

    @property
    def row_level_success(self) -> bool:
        """Every row-level expectation passed (schema, row count and max/min freshness left
        aside): the rows validated need not be validated again. A failure or a warning
        makes the next evaluation read the whole table (:mod:`.scope`)."""
        return all(
            outcome.success for outcome in self.outcomes if outcome.expectation_type in ROW_LEVEL
        )

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


def suite_result(
    table: str,
    results: list[ExpectationValidationResult],
    parameters: Mapping[str, Any],
    *,
    row_count: int,
    engine: str,
    run_time: dt.datetime,
    scope: str = "whole table",
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
            "scope": scope,
            "engine": engine,
            "run_time": run_time.isoformat(),
            "great_expectations_version": gx.__version__,
            "duckdb_version": duckdb.__version__,
        },
    )


# When GX's HTML page of a result is written beside its JSON: for every result, for the
# results with a failed or warned expectation (the pages someone opens; rendering takes
# about 0.3 s per check, a third of a small table's check), or never. Any stored result can
# be rendered later with :func:`render_html` (``customer-intel quality-report``).
HTML_ALWAYS, HTML_FAILURES, HTML_NEVER = "always", "failures", "never"
HTML_CHOICES = (HTML_ALWAYS, HTML_FAILURES, HTML_NEVER)


def write_results(
    suite_result: ExpectationSuiteValidationResult,
    results_dir: Path,
    table: str,
    *,
    html: str = HTML_ALWAYS,
) -> tuple[Path, Path | None]:
    """The result as ``<table>-<UTC timestamp>.json`` and, as ``html`` says, its HTML page
    beside it; returns both paths (None: no page)."""
    if html not in HTML_CHOICES:
        raise ValueError(f"html reports: {html!r} is not one of {', '.join(HTML_CHOICES)}")
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = f"{table}-{stamp}"
    result_path = results_dir / f"{stem}.json"
    result_path.write_text(json.dumps(suite_result.to_json_dict(), indent=2), encoding="utf-8")
    html_path = None
    if html == HTML_ALWAYS or (html == HTML_FAILURES and not suite_result.success):
        html_path = _write_html(suite_result, result_path.with_suffix(".html"))
    return result_path, html_path


def render_html(result_path: Path) -> Path:
    """GX's HTML page of a stored result (a ``.json`` :func:`write_results` wrote), written
    beside it; returns its path."""
    from great_expectations.core.expectation_validation_result import (
        expectationSuiteValidationResultSchema,
    )
    from marshmallow import ValidationError  # GX's schemas are marshmallow's

    try:
        document = json.loads(Path(result_path).read_text(encoding="utf-8"))
        suite_result = expectationSuiteValidationResultSchema.load(document)
    except (OSError, ValueError, ValidationError) as error:
        raise ValueError(f"{result_path}: not a stored validation result ({error})") from error
    return _write_html(suite_result, Path(result_path).with_suffix(".html"))


def _write_html(suite_result: ExpectationSuiteValidationResult, path: Path) -> Path:
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    document = ValidationResultsPageRenderer().render(suite_result)
    path.write_text(DefaultJinjaPageView().render(document), encoding="utf-8")
    return path


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


def outcome(validation_result: ExpectationValidationResult) -> ExpectationOutcome:
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
