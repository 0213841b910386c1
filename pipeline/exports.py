"""Segment exports: CSV and Parquet files for marketing tools, written atomically.

Files of one run go to ``exports/<run date>/``; ``exports/latest`` is a symbolic link to the
newest complete folder. The folder is built under a temporary name and renamed into place,
and the link is replaced with one rename, so a reader of ``latest/`` sees the previous
complete export or the new one, never a partial one. Temporary names carry the pid of
the process that made them; one whose process is gone (killed mid-export) is removed by the
next export.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.processes import process_is_alive
from pipeline.sql_text import quote_literal

LATEST = "latest"
_TEMPORARY_PREFIXES = (".building-", ".retired-", f".{LATEST}-")


@dataclass(frozen=True)
class ExportedFile:
    name: str
    rows: int
    csv_path: Path
    parquet_path: Path


def export_queries(
    connection: duckdb.DuckDBPyConnection,
    exports_dir: Path,
    queries: dict[str, str],
    run_date: dt.date,
) -> list[ExportedFile]:
    """Write each named SELECT as <name>.csv and <name>.parquet into exports/<run_date>/
    and point exports/latest at it."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned(exports_dir)
    building = exports_dir / _temporary_name("building")
    building.mkdir()
    exported = []
    try:
        for name, query in queries.items():
            csv_path = building / f"{name}.csv"
            parquet_path = building / f"{name}.parquet"
            # COPY takes no prepared parameters for its target; the paths are our own.
            connection.execute(
                f"COPY ({query}) TO {quote_literal(str(csv_path))} (HEADER, DELIMITER ',')"
            )
            connection.execute(
                f"COPY ({query}) TO {quote_literal(str(parquet_path))} (FORMAT parquet)"
            )
            rows = connection.execute(
                "SELECT count(*) FROM read_parquet($p)", {"p": str(parquet_path)}
            ).fetchall()[0][0]
            exported.append((name, int(rows)))
        final = exports_dir / run_date.isoformat()
        _replace_directory(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _point_latest(exports_dir, final.name)
    return [
        ExportedFile(name, rows, final / f"{name}.csv", final / f"{name}.parquet")
        for name, rows in exported
    ]


def _temporary_name(kind: str, suffix: str = "") -> str:
    return f".{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


def _owner_alive(name: str) -> bool:
    """Whether the process named in a temporary name (``.building-<pid>-<id>``) runs."""
    parts = name.split("-")
    return len(parts) >= 3 and parts[1].isdigit() and process_is_alive(int(parts[1]))


def remove_abandoned(exports_dir: Path) -> list[str]:
    """Remove temporary folders and links that a killed export left; returns their names."""
    removed = []
    for entry in exports_dir.iterdir():
        if entry.name.startswith(_TEMPORARY_PREFIXES) and not _owner_alive(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return sorted(removed)


def _replace_directory(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``; an earlier export of the same day is replaced."""
    if target.exists():
        retired = target.with_name(_temporary_name("retired", f"-{target.name}"))
        os.replace(target, retired)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def _point_latest(exports_dir: Path, folder_name: str) -> None:
    link = exports_dir / LATEST
    temporary = exports_dir / _temporary_name(LATEST)
    os.symlink(folder_name, temporary, target_is_directory=True)
    os.replace(temporary, link)
