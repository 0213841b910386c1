"""Load landing files into raw.transactions, raw.quarantine and raw.file_ledger.

For each file: skip it when the ledger's loaded version of the path has the same size and
modification time, or else when its hash (computed beside the read of the file) is already
loaded under any path; otherwise stage it as text (readers.py), map its columns
(column_mapping.py), type every value in SQL (typed_rows.py) and, in one transaction,
replace any earlier version of the same file, insert the typed rows into raw.transactions
and the rows that cannot be typed into raw.quarantine (file, row, column, reason, original
values), and record the outcome in the ledger (ledger.py). A file that cannot be read at
all is recorded as rejected and changes nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from pipeline.ingest.column_mapping import (
    Layout,
    MappingError,
    layout_for,
    load_layouts,
    missing_required,
    resolve_columns,
)
from pipeline.ingest.discovery import discover_files
from pipeline.ingest.ledger import (
    LedgerEntry,
    LoadedVersions,
    ensure_raw_schema,
    loaded_versions,
    record,
    record_rejection,
    remember_modification_time,
    supersede_previous,
)
from pipeline.ingest.readers import (
    FileRejected,
    FileScan,
    StagedPart,
    content_hash,
    file_signature,
    scan_file,
    stage_parts,
)
from pipeline.ingest.sql_files import read_sql
from pipeline.ingest.typed_rows import (
    TIMESTAMP_TEXTS,
    TYPED_VIEW,
    create_typed_view,
    create_typing_macros,
    date_formats,
    type_timestamp_texts,
    typed_select,
)
from pipeline.sql_text import one_row

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    file_path: str
    status: str  # loaded | rejected | unchanged | retracted (taken back: not loaded again)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    replaced_previous: bool = False
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)

    def with_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def _resolve_part(part: StagedPart, display_name: str, layout: Layout) -> dict[str, str]:
    """The part's canonical columns; a part without the required ones rejects the file."""
    try:
        resolved = resolve_columns(part.columns, layout)
    except MappingError as error:
        raise FileRejected(display_name, str(error)) from error
    missing = missing_required(resolved)
    if missing:
        where = f" (sheet {part.sheet!r})" if part.sheet else ""
        hint = (
            " Only one column was found, so the delimiter was not recognised (detected: "
            "comma, semicolon, pipe, tab); set `delimiter:` for this file in "
            "column_mappings.yaml."
            if part.kind == "csv" and len(part.columns) == 1
            else " Rename the columns or describe the layout in column_mappings.yaml."
        )
        raise FileRejected(
            display_name,
            f"missing required column(s){where}: {', '.join(missing)}; "
            f"the file has: {', '.join(part.columns) or '(no columns)'}.{hint}",
        )
    return resolved


def _load_part(
    connection: duckdb.DuckDBPyConnection,
    part: StagedPart,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
) -> tuple[int, int]:
    """Insert one staged part; returns (rows loaded, rows quarantined)."""
    source_file = part.source_file or display_name
    resolved = _resolve_part(part, source_file, layout)
    single_format = type_timestamp_texts(connection, resolved["invoice_ts"], date_formats(layout))
    create_typed_view(
        connection,
        typed_select(
            resolved,
            part.source_row,
            layout.decimal,
            single_format,
            error_cells=part.kind == "excel",
        ),
    )
    lineage = {"source_file": source_file, "source_sheet": part.sheet, "now": now}
    (before,) = one_row(connection, "SELECT count(*) FROM raw.transactions")
    connection.execute(read_sql("insert_transactions.sql"), lineage)
    (after,) = one_row(connection, "SELECT count(*) FROM raw.transactions")
    loaded = int(after - before)
    quarantined = part.row_count - loaded
    if quarantined:
        connection.execute(read_sql("insert_quarantine.sql"), lineage)
    connection.execute(f"DROP VIEW {TYPED_VIEW}; DROP TABLE {TIMESTAMP_TEXTS}")
    for line, error_type, csv_line in part.unparsed_lines:
        connection.execute(
            read_sql("insert_unparsed_line.sql"),
            lineage | {"line": line, "reason": f"unparseable line: {error_type}", "raw": csv_line},
        )
    return loaded, quarantined + len(part.unparsed_lines)


# DuckDB errors that a file's content can cause (a name or value DuckDB cannot take): the
# file is rejected and the other files load. Anything else (I/O, memory) stops the ingest.
_CONTENT_ERRORS = (
    duckdb.BinderException,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.ParserException,
)


def ingest_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
) -> FileOutcome:
    """Load one file atomically (see module docstring)."""
    previous = loaded_versions(connection, display_name)
    signature = file_signature(path)
    if previous.same_file(*signature):
        return FileOutcome(display_name, "unchanged")
    if signature in previous.retracted_signatures:
        return FileOutcome(display_name, "retracted")
    scan = scan_file(path)
    # The SHA-256 runs in a thread beside DuckDB's read of the file, which leaves part of
    # the second core idle. Whether the content is loaded already is settled once the first
    # part is staged, before any write.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-hash") as pool:
        hashing = pool.submit(content_hash, path)
        return _load_file(connection, path, display_name, layout, now, previous, scan, hashing)


@dataclass
class _Counts:
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    encodings: list[str] = field(default_factory=list)

    def add(self, part: StagedPart, loaded: int, quarantined: int) -> None:
        self.rows_read += part.row_count + len(part.unparsed_lines)
        self.rows_loaded += loaded
        self.rows_quarantined += quarantined
        if part.encoding and part.encoding not in self.encodings:
            self.encodings.append(part.encoding)

    def ledger_entry(self, display_name: str, scan: FileScan, layout: Layout) -> LedgerEntry:
        return LedgerEntry(
            display_name,
            scan,
            layout.name,
            "loaded",
            self.rows_read,
            self.rows_loaded,
            self.rows_quarantined,
            encoding=", ".join(self.encodings) or None,
        )


def _load_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
    previous: LoadedVersions,
    scan: FileScan,
    hashing: Future[str],
) -> FileOutcome:
    connection.execute("BEGIN TRANSACTION")
    hashed: FileScan | None = None
    replaced = False
    counts = _Counts()
    try:
        for part in stage_parts(connection, path, display_name, layout, scan):
            if hashed is None:
                hashed = replace(scan, content_hash=hashing.result())
                if hashed.content_hash in previous.retracted_hashes:
                    connection.execute("ROLLBACK")
                    return FileOutcome(display_name, "retracted")
                if hashed.content_hash in previous.all_hashes:
                    connection.execute("ROLLBACK")
                    return _already_loaded(connection, display_name, hashed, previous)
                replaced = supersede_previous(connection, display_name, previous)
            loaded, quarantined = _load_part(connection, part, display_name, layout, now)
            counts.add(part, loaded, quarantined)
        hashed = hashed or replace(scan, content_hash=hashing.result())
        record(connection, counts.ledger_entry(display_name, hashed, layout), now)
        connection.execute("COMMIT")
    except (FileRejected, *_CONTENT_ERRORS) as error:
        connection.execute("ROLLBACK")
        hashed = hashed or replace(scan, content_hash=hashing.result())
        if hashed.content_hash in previous.all_hashes:
            return _already_loaded(connection, display_name, hashed, previous)
        message = str(error)
        if not isinstance(error, FileRejected):
            message = f"{display_name}: cannot be loaded: {message.strip().splitlines()[0]}"
        entry = LedgerEntry(display_name, hashed, layout.name, "rejected", error=message)
        record_rejection(connection, entry, now)
        return FileOutcome(display_name, "rejected", error=message)
    except BaseException as error:
        connection.execute("ROLLBACK")
        error.add_note(f"while loading {display_name} (rolled back; nothing of it was kept)")
        raise
    return FileOutcome(
        display_name,
        "loaded",
        counts.rows_read,
        counts.rows_loaded,
        counts.rows_quarantined,
        replaced_previous=replaced,
    )


def _already_loaded(
    connection: duckdb.DuckDBPyConnection,
    display_name: str,
    scan: FileScan,
    previous: LoadedVersions,
) -> FileOutcome:
    """A file whose content is loaded already, under this path or another: nothing to load."""
    if scan.content_hash == previous.content_hash:
        remember_modification_time(connection, display_name, scan.modified_at)
    return FileOutcome(display_name, "unchanged")


def _refuse_outside_landing(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    now: dt.datetime,
) -> FileOutcome:
    """A link (or a file in a linked folder) that leads out of the landing folder is never
    opened: rejected, with an error that names neither the target nor its content."""
    link = path.lstat()
    scan = FileScan(
        size_bytes=link.st_size,
        modified_at=dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=link.st_mtime_ns // 1000),
        content_hash=hashlib.sha256(f"outside landing: {display_name}".encode()).hexdigest(),
    )
    message = (
        f"{display_name}: is a link to a file outside the landing folder, which is never "
        "read; copy the file into landing instead"
    )
    record_rejection(
        connection, LedgerEntry(display_name, scan, layout.name, "rejected", error=message), now
    )
    return FileOutcome(display_name, "rejected", error=message)


def ingest_landing(
    connection: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    mappings_path: Path,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Load every new or changed file under ``landing_dir``."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ensure_raw_schema(connection)
    create_typing_macros(connection)
    layouts = load_layouts(mappings_path)
    report = IngestReport()
    root = landing_dir.resolve()
    for path in discover_files(landing_dir):
        display_name = path.relative_to(landing_dir).as_posix()
        layout = layout_for(path.name, layouts)
        if path.resolve().is_relative_to(root):
            outcome = ingest_file(connection, path, display_name, layout, now)
        else:
            outcome = _refuse_outside_landing(connection, path, display_name, layout, now)
        if outcome.status == "rejected":
            log.error("rejected %s", outcome.error)
        elif outcome.status == "loaded":
            log.info(
                "loaded %s: %d rows, %d quarantined",
                display_name,
                outcome.rows_loaded,
                outcome.rows_quarantined,
            )
        report.files.append(outcome)
    return report
