"""Which rows a check validates: the whole table, or only the rows new since the last
evaluation whose row-level expectations passed.

raw.transactions and the staging tables grow by appending: raw by whole file versions, each
row stamped with ``ingested_at``; staging by the cleaning of new raw rows
(:mod:`pipeline.cleaning_incremental`), each row keeping its raw row's lineage key
(``source_file, source_sheet, source_row``, the key of all four tables). A row-level
expectation (not null, ranges, allowed values, JSON) holds for a row whatever the other
rows are, so a row that passed it once need not be validated again while it stays as it
was. The uniqueness of the lineage key is checked for the new keys against the whole table:
the scoped rows include every older row that repeats a new row's key.

:func:`on_scoped_rows` says which expectations read only the scoped rows; the others read
the whole table every time: schema, row count, max/min (freshness), an expectation with
``mostly`` below 1 (a share of the new rows is not a share of the table), uniqueness of
columns other than the lineage key, and any rule whose bounds are run-time parameters.

A scope is computed from the *marks* the previous evaluation recorded (in the Dagster
check's metadata) and what the warehouse holds now:

* raw.transactions: the latest ``ingested_at`` validated and the rows up to it. The rows
  ingested after it are new, as long as the rows up to it are still all there (a file
  superseded or retracted since, or a clock moved back, means the whole table).
* staging tables: the cleaning state's ``rebuilt_at`` and latest raw ``ingested_at``
  (staging.cleaning_state). While ``rebuilt_at`` is unchanged, the builds since only
  appended the rows cleaned from raw rows ingested after the recorded one. A full rebuild,
  a build that moved rows between tables (a future-dated row let through, a kept copy
  displaced) or a build on Spark means the whole table.

No previous evaluation, one whose row-level expectations failed or warned, or marks that do
not fit the warehouse: the whole table, and the scope says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.cleaning_state import ENGINE_DUCKDB, STAGING_TABLES, previous_build
from pipeline.quality.engines import ROW_LEVEL, columns_of
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, qualified

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

SQL = SqlFiles(__package__)
RAW_TABLE = "raw.transactions"
SCOPED_TABLES = (RAW_TABLE, *STAGING_TABLES)
# The key the scoped rows are gathered by: a new row's, and every row that repeats it.
LINEAGE_KEY = ("source_file", "source_sheet", "source_row")
UNIQUENESS_TYPES = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)


def on_scoped_rows(expectation: Expectation) -> bool:
    """Whether the expectation's verdict on the scoped rows, added to the verdicts earlier
    evaluations gave on the other rows, is its verdict on the whole table (see the module
    docstring); if not, it reads the whole table."""
    config = expectation.configuration  # a copy, with $PARAMETER placeholders unresolved
    kwargs = config.kwargs
    if config.type not in ROW_LEVEL:
        return False
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        return False
    if any(isinstance(value, Mapping) and "$PARAMETER" in value for value in kwargs.values()):
        return False
    if config.type in UNIQUENESS_TYPES:
        return sorted(columns_of(config)) == sorted(LINEAGE_KEY)
    return True


@dataclass(frozen=True)
class ValidationScope:
    """The rows the row-level expectations validate (``rows_sql`` None: every row), why,
    and the marks the next evaluation starts from if these rows pass."""

    description: str
    marks: dict[str, Any] = field(default_factory=dict)
    rows_sql: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def whole_table(self) -> bool:
        return self.rows_sql is None

    def describe(self, validated_rows: int, row_count: int) -> str:
        if self.whole_table:
            return f"whole table ({row_count:,} rows): {self.description}"
        return f"{self.description} ({validated_rows:,} of {row_count:,})"


def scope_for(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    previous_marks: Mapping[str, Any] | None,
    whole_reason: str | None = None,
) -> ValidationScope | None:
    """The scope of ``table``'s next validation (None: the table is always validated whole,
    as before). ``previous_marks`` are the marks of the last evaluation whose row-level
    expectations passed; ``whole_reason`` says why there are none."""
    if table == RAW_TABLE:
        return _raw_scope(connection, previous_marks, whole_reason)
    if table in STAGING_TABLES:
        return _staging_scope(connection, table, previous_marks, whole_reason)
    return None


def _raw_scope(
    connection: duckdb.DuckDBPyConnection,
    previous_marks: Mapping[str, Any] | None,
    whole_reason: str | None,
) -> ValidationScope:
    since = _timestamp((previous_marks or {}).get("ingested_through"))
    row_count, ingested_through, rows_through_since = one_row(
        connection, SQL.read("scopes/raw_marks.sql"), {"since": since}
    )
    marks = {"ingested_through": _iso(ingested_through), "rows_through": int(row_count)}
    if previous_marks is None:
        return ValidationScope(whole_reason or "no previous evaluation", marks)
    if since is None:
        return ValidationScope("the last evaluation saw no ingested rows", marks)
    rows_then = previous_marks.get("rows_through")
    if rows_through_since != rows_then:
        return ValidationScope(
            f"the rows ingested up to {since:%Y-%m-%dT%H:%M:%S} were {rows_then} at the last "
            f"evaluation and are {rows_through_since:,} now (a file superseded or retracted "
            "since, or the clock moved back)",
            marks,
        )
    return ValidationScope(
        f"rows ingested since {since:%Y-%m-%dT%H:%M:%S}",
        marks,
        _new_rows_sql(RAW_TABLE),
        {"since": since, "through": ingested_through},
    )


def _staging_scope(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    previous_marks: Mapping[str, Any] | None,
    whole_reason: str | None,
) -> ValidationScope:
    state = previous_build(connection)
    if state is None:
        return ValidationScope("no record of the cleaning (staging.cleaning_state)")
    if state.engine != ENGINE_DUCKDB:
        return ValidationScope(f"staging was built on {state.engine}")
    marks = {"rebuilt_at": _iso(state.rebuilt_at), "ingested_through": _iso(state.raw_ingested_at)}
    if previous_marks is None:
        return ValidationScope(whole_reason or "no previous evaluation", marks)
    if previous_marks.get("rebuilt_at") != marks["rebuilt_at"]:
        return ValidationScope(
            f"staging was rebuilt (or rows moved between its tables) at "
            f"{state.rebuilt_at:%Y-%m-%dT%H:%M:%S}, after the last evaluation",
            marks,
        )
    since = _timestamp(previous_marks.get("ingested_through"))
    return ValidationScope(
        f"rows cleaned from raw rows ingested since {since:%Y-%m-%dT%H:%M:%S}"
        if since
        else "rows cleaned since the last evaluation",
        marks,
        _new_rows_sql(table),
        {"since": since or dt.datetime.min, "through": state.raw_ingested_at or dt.datetime.min},
    )


def _new_rows_sql(table: str) -> str:
    return SQL.read("scopes/new_rows.sql").replace("__TABLE__", qualified(table))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _timestamp(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None
