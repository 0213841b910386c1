"""What the staging tables were built from (staging.cleaning_state), and whether the next
cleaning may build on them.

raw.transactions changes only by whole file versions: a version is inserted, or its rows are
deleted when it is superseded or retracted (pipeline/ingest). The cleaning rules look at one
row at a time, except two: ``future_date`` compares with the run time, and
``duplicate_line`` keeps the first copy in file order. So when, since the previous build,
nothing happened but new file versions being loaded, the clock moving forward and the
settings staying the same, cleaning only the new rows (and the rows excluded as
future-dated that the later clock lets through) gives the tables a full rebuild gives:
:mod:`pipeline.cleaning_incremental` does that. Anything else, or a state it cannot trust,
means a full rebuild, and :func:`plan_cleaning` says why.

The state is one row written in the same transaction as the staging tables, so a build
killed before its commit leaves the previous tables and the previous state together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from pipeline.catalog.ddl import create_tables_sql
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row

SQL = SqlFiles(__package__)
STATE_TABLE = "staging.cleaning_state"
STAGING_TABLES = ("staging.transactions", "staging.returns", "staging.excluded")
ENGINE_DUCKDB, ENGINE_SPARK = "duckdb", "spark"


@dataclass(frozen=True)
class RuleSettings:
    """The settings the rules run with: the non-product codes, and the run time and the
    tolerance the future_date rule measures from."""

    non_product_codes: tuple[str, ...]
    cleaned_at: dt.datetime  # naive UTC
    future_tolerance_days: int

    @property
    def latest_valid_ts(self) -> dt.datetime:
        return self.cleaned_at + dt.timedelta(days=self.future_tolerance_days)

    @property
    def codes(self) -> list[str]:
        """The codes as the rule compares them (upper case)."""
        return [code.upper() for code in self.non_product_codes]


@dataclass(frozen=True)
class PreviousBuild:
    engine: str
    cleaned_at: dt.datetime
    future_tolerance_days: int | None
    non_product_codes: tuple[str, ...]
    raw_rows: int
    raw_ingested_at: dt.datetime | None
    rebuilt_at: dt.datetime


@dataclass(frozen=True)
class CleaningPlan:
    """Incremental (``previous`` is the build to extend) or full, and why."""

    incremental: bool
    reason: str
    previous: PreviousBuild | None = None
    new_files: tuple[str, ...] = ()
    new_rows: int = 0

    def describe(self) -> str:
        """``incremental (1 new file, 19,799 rows)`` or ``full (a loaded file was
        superseded: sales.csv)``."""
        return f"{'incremental' if self.incremental else 'full'} ({self.reason})"


def full(reason: str) -> CleaningPlan:
    return CleaningPlan(incremental=False, reason=reason)


def ensure_state_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(create_tables_sql(STATE_TABLE))


def record_state(
    connection: duckdb.DuckDBPyConnection,
    settings: RuleSettings,
    *,
    engine: str = ENGINE_DUCKDB,
    rebuilt_at: dt.datetime | None = None,
) -> None:
    """Replace the state with what the tables hold now; call it inside the transaction that
    wrote them. ``rebuilt_at`` None: this build rebuilt them (or moved rows between them)."""
    ensure_state_table(connection)
    connection.execute(f"DELETE FROM {STATE_TABLE}")
    connection.execute(
        SQL.read("cleaning_steps/record_state.sql"),
        {
            "engine": engine,
            "cleaned_at": settings.cleaned_at,
            "future_tolerance_days": settings.future_tolerance_days,
            "non_product_codes": settings.codes,
            "rebuilt_at": rebuilt_at,
        },
    )


def forget_state(connection: duckdb.DuckDBPyConnection) -> None:
    """No state: the next cleaning rebuilds in full (before a build that does not record
    one in the tables' own transaction)."""
    ensure_state_table(connection)
    connection.execute(f"DELETE FROM {STATE_TABLE}")


def previous_build(connection: duckdb.DuckDBPyConnection) -> PreviousBuild | None:
    """The recorded state, or None when there is none (or more than one row)."""
    if not _tables_exist(connection, (STATE_TABLE,)):
        return None
    rows = connection.execute(SQL.read("cleaning_steps/previous_state.sql")).fetchall()
    if len(rows) != 1:
        return None
    engine, cleaned_at, tolerance, codes, raw_rows, ingested_at, rebuilt_at = rows[0]
    return PreviousBuild(
        engine, cleaned_at, tolerance, tuple(codes or ()), int(raw_rows), ingested_at, rebuilt_at
    )


def plan_cleaning(connection: duckdb.DuckDBPyConnection, settings: RuleSettings) -> CleaningPlan:
    """Whether only new rows need cleaning (see the module docstring), and why not if not."""
    if not _tables_exist(connection, STAGING_TABLES):
        return full("a staging table is missing")
    previous = previous_build(connection)
    if previous is None:
        return full("no record of the previous build")
    settings_changed = _settings_changed(previous, settings)
    if settings_changed:
        return full(settings_changed)
    changes = connection.execute(SQL.read("cleaning_steps/versions_since.sql")).fetchall()
    gone = [(path, status) for change, path, status, _ in changes if change == "gone"]
    if gone:
        path, status = gone[0]
        more = f" and {len(gone) - 1} more" if len(gone) > 1 else ""
        return full(f"a loaded file was {status}: {path}{more}")
    new_files = tuple(path for change, path, _, _ in changes if change == "new")
    expected_new_rows = sum(int(rows) for change, _, _, rows in changes if change == "new")
    raw_rows, new_rows, staging_rows = one_row(
        connection,
        SQL.read("cleaning_steps/row_counts.sql"),
        {"previous_ingested_at": previous.raw_ingested_at},
    )
    if staging_rows != previous.raw_rows:
        return full(
            f"the staging tables hold {staging_rows:,} rows, the previous build wrote "
            f"{previous.raw_rows:,}"
        )
    if new_rows != expected_new_rows or raw_rows != previous.raw_rows + new_rows:
        return full(
            f"raw.transactions does not match its ledger: {raw_rows:,} rows, "
            f"{previous.raw_rows:,} cleaned before and {new_rows:,} ingested since for "
            f"{expected_new_rows:,} in {len(new_files)} new file(s)"
        )
    files = "no new files" if not new_files else _plural(len(new_files), "new file")
    return CleaningPlan(
        incremental=True,
        reason=f"{files}, {_plural(int(new_rows), 'row')}",
        previous=previous,
        new_files=new_files,
        new_rows=int(new_rows),
    )


def _settings_changed(previous: PreviousBuild, settings: RuleSettings) -> str | None:
    if previous.engine != ENGINE_DUCKDB:
        return f"the previous build ran on {previous.engine}"
    if sorted(previous.non_product_codes) != sorted(settings.codes):
        return "NON_PRODUCT_CODES changed"
    if previous.future_tolerance_days != settings.future_tolerance_days:
        return (
            f"FUTURE_TOLERANCE_DAYS changed ({previous.future_tolerance_days} -> "
            f"{settings.future_tolerance_days})"
        )
    if settings.cleaned_at < previous.cleaned_at:
        return (
            f"the clock is behind the previous build's ({settings.cleaned_at:%Y-%m-%d %H:%M:%S}"
            f" < {previous.cleaned_at:%Y-%m-%d %H:%M:%S})"
        )
    return None


def _tables_exist(connection: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> bool:
    (found,) = one_row(
        connection,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary AND schema_name || '.' || table_name IN (SELECT unnest($tables))",
        {"tables": list(tables)},
    )
    return found == len(tables)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
