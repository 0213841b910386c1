"""Cleaning in proportion to what changed: the staging tables extended with the rows of new
files when that gives what a full rebuild gives, the full rebuild otherwise.

:func:`clean_staging` asks :func:`pipeline.cleaning_state.plan_cleaning` whether only files
were added since the previous build (same settings, clock not moved back, nothing
superseded or retracted, the tables as the previous build left them). If so, the rows to
clean are the *candidates*: the raw rows ingested after the previous build, and the rows
it excluded as ``future_date`` that the later clock now lets through. Every candidate goes
through the same rules (:data:`pipeline.cleaning.RULE_CASE`). Duplicates are decided as the
full build decides them, the first copy in file order (``source_file, source_sheet,
source_row``) kept: the candidate purchase lines are ranked together with the lines of
staging.transactions that share their key (the kept first copies; the key includes
``invoice_ts``, so only the candidates' time range is read). A candidate ranked first is
added; a kept line a candidate precedes (a new file whose name sorts before an older one)
moves to staging.excluded as ``duplicate_line``; the other copies are excluded.

New rows are appended after the existing ones, each table's new rows in its own order
(staging.transactions and staging.returns by time, file, row; staging.excluded by file,
row). Nightly files hold the latest times, so the tables stay sorted by time and the time
filters' zone maps keep skipping row groups. A file of older invoices (a late file) appends
row groups whose time range overlaps earlier ones: queries stay correct and read those row
groups too, and the next full rebuild restores the global order.

A build that moved rows between tables (a kept line displaced, a future-dated row let
through) records a new ``rebuilt_at``, so the staging checks validate the tables whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipeline.cleaning import (
    DUPLICATE_KEY,
    RULE_CASE,
    TRANSACTION_COLUMNS,
    CleaningCounts,
    cleaning_counts,
    rebuild_staging,
    rule_parameters,
)
from pipeline.cleaning_state import CleaningPlan, RuleSettings, plan_cleaning, record_state
from pipeline.sql_files import SqlFiles
from pipeline.sql_text import one_row, parameters_named, transaction

SQL = SqlFiles(__package__)

# The rows to clean: raw rows ingested after the previous build, and future-dated rows the
# run time now lets through; each with its first rule.
CANDIDATES_SQL = f"""
CREATE OR REPLACE TEMP TABLE _cleaning_candidates AS
SELECT {TRANSACTION_COLUMNS}, {RULE_CASE} AS rule, false AS revived
FROM raw.transactions
WHERE ingested_at > $previous_ingested_at
UNION ALL
SELECT {TRANSACTION_COLUMNS}, {RULE_CASE} AS rule, true AS revived
FROM staging.excluded AS excluded
WHERE excluded.rule = 'future_date' AND excluded.invoice_ts <= $latest_valid_ts
"""

# The candidate purchase lines ranked, in file order, with the kept lines that share their
# key (a hash prefilter; the window compares the key itself).
COPIES_SQL = f"""
CREATE OR REPLACE TEMP TABLE _cleaning_copies AS
SELECT *, row_number() OVER (PARTITION BY {DUPLICATE_KEY}
                             ORDER BY source_file, source_sheet, source_row) AS copy_number
FROM (
    SELECT {TRANSACTION_COLUMNS}, true AS is_candidate
    FROM _cleaning_candidates
    WHERE rule IS NULL
    UNION ALL
    SELECT {TRANSACTION_COLUMNS}, false AS is_candidate
    FROM staging.transactions
    WHERE invoice_ts BETWEEN $first_ts AND $last_ts
      AND hash({DUPLICATE_KEY}) IN (
          SELECT hash({DUPLICATE_KEY}) FROM _cleaning_candidates WHERE rule IS NULL
      )
)
"""

APPEND_STEPS = ("append_transactions.sql", "append_returns.sql", "append_excluded.sql")


@dataclass(frozen=True)
class CleaningOutcome:
    counts: CleaningCounts
    plan: CleaningPlan
    moved_rows: int = 0  # kept lines displaced + future-dated rows let through

    def describe(self) -> str:
        return self.plan.describe()


def clean_staging(connection: duckdb.DuckDBPyConnection, settings: RuleSettings) -> CleaningOutcome:
    """Extend or rebuild the staging tables (see the module docstring) in one transaction
    with their state."""
    with transaction(connection):
        plan = plan_cleaning(connection, settings)
        moved = 0
        if plan.incremental and plan.previous is not None:
            moved = _extend_staging(connection, settings, plan)
            rebuilt_at = plan.previous.rebuilt_at if moved == 0 else None
        else:
            rebuild_staging(connection, settings)
            rebuilt_at = None
        record_state(connection, settings, rebuilt_at=rebuilt_at)
    return CleaningOutcome(cleaning_counts(connection), plan, moved)


def _extend_staging(
    connection: duckdb.DuckDBPyConnection, settings: RuleSettings, plan: CleaningPlan
) -> int:
    """Clean the candidates into the tables; returns the rows moved between tables."""
    assert plan.previous is not None
    parameters = {
        **rule_parameters(settings.non_product_codes, settings.latest_valid_ts),
        "previous_ingested_at": plan.previous.raw_ingested_at,
    }
    connection.execute(CANDIDATES_SQL, parameters)
    revived, first_ts, last_ts = one_row(
        connection,
        "SELECT count(*) FILTER (WHERE revived), min(invoice_ts) FILTER (WHERE rule IS NULL),"
        " max(invoice_ts) FILTER (WHERE rule IS NULL) FROM _cleaning_candidates",
    )
    connection.execute(COPIES_SQL, {"first_ts": first_ts, "last_ts": last_ts})
    (displaced,) = one_row(
        connection,
        "SELECT count(*) FROM _cleaning_copies WHERE NOT is_candidate AND copy_number > 1",
    )
    if displaced:
        connection.execute(SQL.read("cleaning_steps/displace_kept_copies.sql"))
    if revived:
        _run(connection, "revive_future_rows.sql", parameters)
    for step in APPEND_STEPS:
        _run(connection, step, parameters)
    connection.execute("DROP TABLE _cleaning_copies")
    connection.execute("DROP TABLE _cleaning_candidates")
    return int(displaced) + int(revived)


def _run(connection: duckdb.DuckDBPyConnection, name: str, parameters: dict) -> None:
    sql = SQL.read(f"cleaning_steps/{name}")
    connection.execute(sql, parameters_named(sql, parameters))
