"""The parts a full cleaning runs in, so that it does not spill under a memory limit.

:func:`pipeline.cleaning.rebuild_staging` builds the staging tables part by part, each part
appended after the one before: the later copies and the two time-sorted tables by ranges of
days of ``invoice_ts`` (a line's copies share its time, so each part decides its own
duplicates, and parts in time order give the order of one sort by time), staging.excluded
by ranges of file names (it is in file order). Up to :func:`rows_per_part` raw rows it is
one part, and the statements are those of one build over the whole table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from itertools import pairwise

import duckdb

from pipeline.sql_text import one_row, quote_literal

# Raw rows per GiB of DuckDB's memory limit that one part of the full cleaning may hold: the
# time-sorted staging tables and the duplicate keys' hash table of a part stay in memory
# (benchmarks/RESULTS.md, "cleaning in parts": at 100M rows under a 4 GB limit, cleaning in
# one part spilled ~7 GB to disk and took 23 times its 10M time).
ROWS_PER_GIB = 3_000_000
# DuckDB spells its memory limit in binary units ("3.7 GiB" for '4GB').
_SIZE = re.compile(r"^\s*([0-9.]+)\s*(bytes|KiB|MiB|GiB|TiB|PiB)\s*$")
_BYTES = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def rows_per_part(connection: duckdb.DuckDBPyConnection) -> int:
    """Raw rows one part of the full cleaning may hold under the connection's memory limit
    (no limit, or one spelt otherwise: one part)."""
    (limit,) = one_row(connection, "SELECT current_setting('memory_limit')")
    match = _SIZE.match(str(limit))
    if match is None:
        return 2**62
    gib = float(match.group(1)) * _BYTES[match.group(2)] / 2**30
    return max(1_000_000, int(gib * ROWS_PER_GIB))


@dataclass(frozen=True)
class CleaningParts:
    """Conditions on raw.transactions, one per part, in the order the parts are appended
    (``""``: all of it). Raw is loaded file by file in row order, so the zone maps of
    ``invoice_ts`` and ``source_file`` let each part's scans skip most other row groups."""

    by_time: tuple[str, ...]
    by_file: tuple[str, ...]


def cleaning_parts(connection: duckdb.DuckDBPyConnection, part_rows: int) -> CleaningParts:
    """Parts of at most about ``part_rows`` raw rows (a day or a file with more is one
    part); one part when raw.transactions holds no more."""
    (total,) = one_row(connection, "SELECT count(*) FROM raw.transactions")
    if total <= part_rows:
        return CleaningParts(("",), ("",))
    return CleaningParts(
        _ranges(connection, "invoice_ts", "date_trunc('day', invoice_ts)", part_rows),
        _ranges(connection, "source_file", "source_file", part_rows),
    )


def _ranges(
    connection: duckdb.DuckDBPyConnection, column: str, key: str, part_rows: int
) -> tuple[str, ...]:
    """Conditions on ``column`` splitting raw into consecutive ranges of its ``key`` (a
    monotone function of it) of at most about ``part_rows`` rows; NULLs in the last."""
    counts = connection.execute(
        f"SELECT {key} AS key, count(*) FROM raw.transactions GROUP BY ALL ORDER BY key"
    ).fetchall()
    starts: list[object] = []
    rows = 0
    for value, count in counts:
        if rows and rows + count > part_rows and value is not None:
            starts.append(value)
            rows = 0
        rows += count
    if not starts:
        return ("",)
    bounds = [_literal(value) for value in starts]
    conditions = [f"{column} < {bounds[0]}"]
    conditions += [f"{column} >= {lo} AND {column} < {hi}" for lo, hi in pairwise(bounds)]
    conditions.append(f"({column} >= {bounds[-1]} OR {column} IS NULL)")
    return tuple(conditions)


def _literal(value: object) -> str:
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return quote_literal(str(value))
