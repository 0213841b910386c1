"""The Great Expectations suite of a table, built from the checks of its contract
(:mod:`pipeline.catalog`): a blocking check becomes *critical* expectations, a warn check
*warning* ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.catalog import TABLES, Check, TableContract
from pipeline.quality.expectations import (
    CRITICAL,
    WARNING,
    allowed_values,
    freshness,
    json_text,
    non_negative,
    not_null,
    positive,
    probability,
    row_count_sanity,
    schema,
    unique_key,
    value_range,
)

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

# Checks that apply to each of their columns alone.
_PER_COLUMN: dict[str, Callable[..., list[Expectation]]] = {
    "not_null": not_null,
    "unique": unique_key,
    "positive": positive,
    "non_negative": non_negative,
    "probability": probability,
    "json": json_text,
}
_CHECK_NAMES = {"unique_key": "unique key", "row_count_sanity": "row count sanity"}


def suite_names() -> tuple[str, ...]:
    """The tables whose contract has checks (:func:`suite_for` knows them), without
    importing GX."""
    return tuple(name for name, contract in TABLES.items() if contract.checks)


def suite_for(name: str) -> list[Expectation]:
    """A fresh list of the expectations for table ``name`` (e.g. ``"staging.transactions"``)."""
    contract = TABLES.get(name)
    if contract is None or not contract.checks:
        raise KeyError(f"no data-quality suite named {name!r}; known: {sorted(suite_names())}")
    return [rule for check in contract.checks for rule in expectations_of(contract, check)]


def expectations_of(contract: TableContract, check: Check) -> list[Expectation]:
    """The GX expectations of one contract check."""
    severity = CRITICAL if check.blocking else WARNING
    if check.kind == "schema":
        return schema({c.name: c.type for c in contract.columns}, severity=severity)
    if check.kind == "unique_key":
        return unique_key(*contract.key, severity=severity)
    if check.kind == "row_count_sanity":
        return row_count_sanity(severity=severity)
    (first, *_) = check.columns
    if check.kind == "freshness":
        return freshness(first, severity=severity)
    if check.kind == "range":
        return value_range(
            first, min_value=check.min_value, max_value=check.max_value, severity=severity
        )
    if check.kind == "allowed_values":
        return allowed_values(first, check.allowed(), severity=severity)
    build = _PER_COLUMN[check.kind]
    return [rule for column in check.columns for rule in build(column, severity=severity)]


def describe_checks(contract: TableContract) -> str:
    """One sentence per severity, e.g. ``Blocking: schema; not null (customer_id). Warn:
    freshness (invoice_ts).`` (for the asset check's description)."""
    sentences = []
    for severity in ("blocking", "warn"):
        parts = []
        for check in contract.checks:
            if check.severity != severity:
                continue
            name = _CHECK_NAMES.get(check.kind, check.kind.replace("_", " "))
            columns = contract.key if check.kind == "unique_key" else check.columns
            parts.append(f"{name} ({', '.join(columns)})" if columns else name)
        if parts:
            sentences.append(f"{severity.capitalize()}: {'; '.join(parts)}.")
    return "Great Expectations suite from the table's contract. " + " ".join(sentences)
