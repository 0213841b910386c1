"""raw.file_ledger: one entry per file version seen in landing/ (loaded, rejected,
superseded), and the raw schema it belongs to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.catalog.ddl import create_tables_sql
from pipeline.ingest.file_scan import FileScan
from pipeline.ingest.sql_files import read_sql, run_steps
from pipeline.ingest.staging import is_archive_name
from pipeline.sql_text import transaction

RAW_TABLES = ("raw.transactions", "raw.quarantine", "raw.file_ledger")


def ensure_raw_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """The raw tables as their contracts declare them, and the columns that ledgers written
    by earlier versions lack (raw_schema/)."""
    connection.execute(create_tables_sql(*RAW_TABLES))
    run_steps(connection, "raw_schema")


@dataclass(frozen=True)
class LoadedVersions:
    """What the ledger holds as loaded: this path's version, and every loaded content; and
    the contents taken back (retracted), which are never loaded again."""

    content_hash: str | None
    size_bytes: int | None
    modified_at: dt.datetime | None
    all_hashes: frozenset[str]
    retracted_hashes: frozenset[str] = frozenset()
    retracted_signatures: frozenset[tuple[int, dt.datetime]] = frozenset()

    def same_file(self, size_bytes: int, modified_at: dt.datetime) -> bool:
        """The path's loaded version has this size and modification time (make's and
        rsync's test): the file is taken as unchanged without reading it."""
        return (
            self.content_hash is not None
            and self.size_bytes == size_bytes
            and self.modified_at == modified_at
        )


def loaded_versions(connection: duckdb.DuckDBPyConnection, display_name: str) -> LoadedVersions:
    rows = connection.execute(read_sql("loaded_versions.sql")).fetchall()
    loaded = [row[:4] for row in rows if row[4] == "loaded"]
    retracted = [row[:4] for row in rows if row[4] == "retracted"]
    same_path = next((row[1:] for row in loaded if row[0] == display_name), (None, None, None))
    return LoadedVersions(
        *same_path,
        all_hashes=frozenset(row[1] for row in loaded),
        retracted_hashes=frozenset(row[1] for row in retracted),
        retracted_signatures=frozenset((r[2], r[3]) for r in retracted if r[0] == display_name),
    )


@dataclass(frozen=True)
class LedgerEntry:
    """The outcome of one file version, as the ledger records it."""

    file_path: str
    scan: FileScan
    layout: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    encoding: str | None = None  # of the text read, e.g. utf-8, cp1252, utf-16-le


def record(connection: duckdb.DuckDBPyConnection, entry: LedgerEntry, now: dt.datetime) -> None:
    """Add the ledger entry of a file version. A path keeps at most one 'rejected' entry:
    the latest outcome replaces an earlier rejection of the same path."""
    connection.execute(
        "DELETE FROM raw.file_ledger WHERE file_path = $f AND status = 'rejected'",
        {"f": entry.file_path},
    )
    connection.execute(
        read_sql("record_file_version.sql"),
        {
            "file_path": entry.file_path,
            "content_hash": entry.scan.content_hash,
            "size_bytes": entry.scan.size_bytes,
            "layout": entry.layout,
            "status": entry.status,
            "rows_read": entry.rows_read,
            "rows_loaded": entry.rows_loaded,
            "rows_quarantined": entry.rows_quarantined,
            "error": entry.error,
            "ingested_at": now,
            "modified_at": entry.scan.modified_at,
            "encoding": entry.encoding,
        },
    )


def record_rejection(
    connection: duckdb.DuckDBPyConnection, entry: LedgerEntry, now: dt.datetime
) -> None:
    """A rejection in a transaction of its own (the file's own one was rolled back)."""
    with transaction(connection):
        record(connection, entry, now)


def remember_modification_time(
    connection: duckdb.DuckDBPyConnection, display_name: str, modified_at: dt.datetime | None
) -> None:
    """A loaded file touched or copied back with the same bytes: remember the new time, so
    the next run skips it without reading it."""
    connection.execute(
        "UPDATE raw.file_ledger SET modified_at = $m WHERE file_path = $f AND status = 'loaded'",
        {"m": modified_at, "f": display_name},
    )


def forget_rows(connection: duckdb.DuckDBPyConnection, display_name: str) -> None:
    """Delete every row the file contributed to raw.transactions and raw.quarantine."""
    prefix = display_name + "!" if is_archive_name(display_name) else None
    run_steps(connection, "forget_file", {"file_path": display_name, "member_prefix": prefix})


def supersede_previous(
    connection: duckdb.DuckDBPyConnection, display_name: str, previous: LoadedVersions
) -> bool:
    """A changed file replaces every row its previous version contributed; True if there
    was one."""
    if previous.content_hash is None:
        return False
    forget_rows(connection, display_name)
    connection.execute(
        "UPDATE raw.file_ledger SET status = 'superseded' "
        "WHERE file_path = $f AND status = 'loaded'",
        {"f": display_name},
    )
    return True


class RetractionError(ValueError):
    """A retraction that names a file the ledger does not hold as loaded."""


def ledger_name(file: str, landing_dir: Path) -> str:
    """A file as the ledger names it: relative to landing (a path inside it is made so)."""
    path = Path(file)
    if path.is_absolute() or path.exists():
        resolved, root = path.resolve(), landing_dir.resolve()
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    return path.as_posix()


def retract_files(
    connection: duckdb.DuckDBPyConnection, file_paths: list[str], now: dt.datetime | None = None
) -> int:
    """Take back loaded files, all or none: each one's rows leave raw.transactions and
    raw.quarantine (so everything built from them is rebuilt without them), its ledger
    entry becomes 'retracted', and its content is never loaded again (a changed file is a
    new version and loads). Returns the rows removed; RetractionError names a file that
    is not loaded."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ensure_raw_schema(connection)
    with transaction(connection):
        removed = 0
        for name in dict.fromkeys(file_paths):
            (loaded_rows,) = connection.execute(
                "SELECT sum(rows_read) FROM raw.file_ledger "
                "WHERE file_path = $f AND status = 'loaded'",
                {"f": name},
            ).fetchone()
            if loaded_rows is None:
                raise RetractionError(
                    f"{name}: no loaded file of that name in raw.file_ledger (names are "
                    "relative to DATA_DIR/landing, as in the ledger's file_path)"
                )
            forget_rows(connection, name)
            connection.execute(read_sql("retract_file.sql"), {"file_path": name, "now": now})
            removed += int(loaded_rows)
    return removed
