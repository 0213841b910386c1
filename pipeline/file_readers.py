"""Read CSV, Excel and Parquet files into a DuckDB temp table of text columns.

Every value is staged as text so that typing happens once, in SQL, with per-row error
reporting (see ingestion.py). Each staged part (a file, or one Excel sheet) carries the
``source_row`` a person would look up: the line number of a CSV (header = line 1), the
spreadsheet row of an Excel sheet, the 1-based row index of a Parquet file.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.column_mapping import Layout
from pipeline.sql_text import one_row, quote_identifier

CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES

STAGED_TABLE = "_staged_rows"
REJECTS_TABLE = "_csv_rejects"
# The staged table's lineage column: the row a person would look up in the source file.
# Internal column names are reserved; a file with a column of the same name is rejected
# (a file's own "source_row" column is just another column).
STAGED_ROW = "_source_row"
RECORD_NUMBER = "_record_number"
RESERVED_COLUMNS = (STAGED_ROW, RECORD_NUMBER)
_CHUNK = 8 * 1024 * 1024
_BLANK_PROBE = 64 * 1024


class FileRejected(ValueError):
    """A file that cannot be loaded at all; the message names the file and what is wrong."""

    def __init__(
        self, file: str, problem: str, *, row: int | None = None, column: str | None = None
    ):
        self.file = file
        self.problem = problem
        self.row = row
        self.column = column
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class FileScan:
    """A file as ingestion sees it before staging: size, encoding, modification time, and
    the SHA-256 of its content once computed (:func:`content_hash`, run beside the read)."""

    size_bytes: int
    is_utf8: bool
    modified_at: dt.datetime | None = None  # the mtime (UTC) taken before reading
    content_hash: str | None = None


def file_signature(path: Path) -> tuple[int, dt.datetime]:
    """(size in bytes, modification time as naive UTC to the microsecond)."""
    stat = path.stat()
    modified = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=stat.st_mtime_ns // 1000)
    return stat.st_size, modified


def scan_file(path: Path) -> FileScan:
    """Size, modification time and whether the content decodes as UTF-8, in one pass.

    The modification time is taken before the read: a file changed while it is read then
    looks changed to the next scan too."""
    _, modified = file_signature(path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            # An ASCII chunk is valid UTF-8 unless a sequence begun in the chunk before is
            # pending (then decode it and fail); the test is ~2x cheaper than decoding.
            if is_utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    return FileScan(size, is_utf8, modified)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's content (hashlib releases the GIL: it can run in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class StagedPart:
    """One file or sheet staged in STAGED_TABLE: its text columns, and ``source_row``: the
    SQL expression of each staged row's lineage number (the STAGED_ROW column, or for a
    cleanly parsed CSV a function of the table's rowid)."""

    sheet: str | None
    columns: list[str]
    row_count: int
    # Lines the CSV parser could not split into the file's columns: (line, error, raw text).
    unparsed_lines: list[tuple[int, str, str]] = field(default_factory=list)
    kind: str = "csv"  # csv | text | excel | parquet
    source_row: str = quote_identifier(STAGED_ROW)


def duckdb_path(path: Path) -> str:
    """``path`` for DuckDB's file readers, which expand globs: ``*``, ``?`` and ``[`` in a
    file name are matched literally (``sales [2011].csv`` must not read ``sales 2.csv``)."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def _check_reserved(display_name: str, columns: list[str]) -> None:
    reserved = {name.casefold() for name in RESERVED_COLUMNS}
    for column in columns:
        if str(column).casefold() in reserved:
            raise FileRejected(
                display_name,
                f"the column name {column!r} is reserved for the pipeline's lineage; "
                "rename that column",
                column=str(column),
            )


def _is_blank(path: Path, size_bytes: int) -> bool:
    """True for a small text file holding only whitespace (and perhaps a BOM)."""
    if size_bytes > _BLANK_PROBE:
        return False
    return not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip()


def stage_parts(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    scan: FileScan,
) -> Iterator[StagedPart]:
    """Stage each part of ``path`` in turn; the table is replaced for every part yielded."""
    suffix = path.suffix.lower()
    if scan.size_bytes == 0:
        raise FileRejected(display_name, "the file is empty")
    if suffix in CSV_SUFFIXES:
        if _is_blank(path, scan.size_bytes):
            raise FileRejected(display_name, "the file is empty (it holds only blank lines)")
        yield _stage_csv(connection, path, display_name, layout, scan)
    elif suffix in EXCEL_SUFFIXES:
        yield from _stage_excel(connection, path, display_name, layout)
    elif suffix in PARQUET_SUFFIXES:
        yield _stage_parquet(connection, path, display_name)
    else:
        raise FileRejected(
            display_name,
            f"unsupported file type {suffix or '(none)'}; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )


def _encoding(layout: Layout, scan: FileScan) -> str:
    if layout.encoding != "auto":
        return layout.encoding
    return "utf-8" if scan.is_utf8 else "latin-1"


def _stage_csv(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    scan: FileScan,
) -> StagedPart:
    if layout.delimiter == "whitespace":
        return _stage_whitespace_separated(connection, path, display_name, layout, scan)
    options: dict[str, object] = {
        "all_varchar": True,
        "header": layout.header,
        "encoding": _encoding(layout, scan),
        "null_padding": False,
    }
    if layout.delimiter:
        options["delim"] = layout.delimiter
    unparsed = _read_csv(connection, path, display_name, options)
    if unparsed and not layout.delimiter:
        unparsed = _retry_with_standard_quotes(connection, path, display_name, options, unparsed)
    # Records are numbered by the staged table's rowid: the read keeps file order, so the
    # rowids are consecutive in file order (from 2^55 inside a transaction, hence relative
    # to the first). A row_number() in the read itself would make DuckDB's parallel CSV
    # reader run on one thread (10M rows: 5.5 s instead of 2.8 s).
    first_rowid, last_rowid, count = one_row(
        connection, f"SELECT min(rowid), max(rowid), count(*) FROM {STAGED_TABLE}"
    )
    header_lines = 1 if options["header"] else 0
    consecutive = count == 0 or last_rowid - first_rowid + 1 == count
    if consecutive:
        record = f"(rowid - {first_rowid or 0} + {header_lines + 1})"
    else:  # not expected; number the rows in rowid order all the same
        record = f"(row_number() OVER (ORDER BY rowid) + {header_lines})"
    if consecutive and not unparsed:
        # No line rejected: the record number is the line number a text editor shows
        # (header = line 1), computed where it is read; nothing to store.
        return _describe(connection, None, [], "csv", source_row=record)
    # Otherwise shift each record past the rejected lines before it.
    rejected_before = [line - j for j, (line, _, _) in enumerate(unparsed, 1)]
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS
        SELECT *,
               {RECORD_NUMBER}
                 + len(list_filter($rejected_before::BIGINT[], lambda g: g < {RECORD_NUMBER}))
                 AS {STAGED_ROW}
        FROM (SELECT *, {record} AS {RECORD_NUMBER} FROM {STAGED_TABLE})
        """,
        {"rejected_before": rejected_before},
    )
    connection.execute(f"ALTER TABLE {STAGED_TABLE} DROP COLUMN {RECORD_NUMBER}")
    part = _describe(connection, None, unparsed, "csv")
    if unparsed and part.row_count == 0:
        line, error_type, _ = unparsed[0]
        raise FileRejected(
            display_name,
            f"no line could be split into the header's {len(part.columns)} column(s) "
            f"({error_type} on every line): the delimiter or the "
            "quoting is not what the header suggests; set `delimiter:` for this file in "
            "column_mappings.yaml",
            row=line,
        )
    return part


def _read_csv(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    options: dict[str, object],
) -> list[tuple[int, str, str]]:
    """Stage ``path`` with ``options`` (text columns, in file order); returns the lines the
    parser rejected, one per line: (line, error type, raw text)."""
    options = options | {
        "store_rejects": True,
        "rejects_table": REJECTS_TABLE,
        "rejects_scan": REJECTS_TABLE + "_scan",
    }
    connection.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}")
    connection.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}_scan")
    option_sql = ", ".join(f"{name} := ${name}" for name in options)
    try:
        connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS
            SELECT * FROM read_csv($path, {option_sql})
            """,
            {"path": duckdb_path(path), **options},
        )
    except duckdb.Error as error:
        raise FileRejected(display_name, f"cannot be read as CSV: {_first_line(error)}") from error
    names = [row[0] for row in connection.execute(f"DESCRIBE {STAGED_TABLE}").fetchall()]
    _check_reserved(display_name, names)
    unparsed = connection.execute(
        # DuckDB reports a line once per surplus column; one quarantine row per line. An
        # unbalanced quote also gives 'too many columns': the later error type is the cause.
        f"SELECT line, max(error_type), any_value(csv_line) FROM {REJECTS_TABLE} "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    return [(int(a), parse_error_text(str(b)), str(c)) for a, b, c in unparsed]


def parse_error_text(error_type: str) -> str:
    """DuckDB's CSV error type in words: 'TOO MANY COLUMNS' -> 'too many columns'."""
    if error_type == "UNQUOTED VALUE":
        return "unbalanced quote"
    return error_type.lower().replace("_", " ")


def _retry_with_standard_quotes(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    options: dict[str, object],
    unparsed: list[tuple[int, str, str]],
) -> list[tuple[int, str, str]]:
    """One unbalanced quote (``"BROKEN DESC,2,...``) makes DuckDB's sniffer give up quoting
    for the whole file, so every properly quoted field that holds a delimiter splits its
    line: good rows end up quarantined. When the sniffer chose no quote character, read
    again with standard (RFC 4180) quoting and keep the reading that rejects fewer lines."""
    dialect = connection.execute(
        f"SELECT delimiter, quote, skip_rows FROM {REJECTS_TABLE}_scan"
    ).fetchall()
    if len(dialect) != 1 or dialect[0][1] not in ("", "(empty)") or dialect[0][2]:
        return unparsed
    delimiter = dialect[0][0]
    names = [row[0] for row in connection.execute(f"DESCRIBE {STAGED_TABLE}").fetchall()]
    connection.execute(f"ALTER TABLE {STAGED_TABLE} RENAME TO {STAGED_TABLE}_sniffed")
    try:
        retried = _read_csv(
            connection,
            path,
            display_name,
            options
            | {
                "auto_detect": False,
                "delim": delimiter,
                "quote": '"',
                "escape": '"',
                "columns": {name: "VARCHAR" for name in names},
            },
        )
    except FileRejected:
        retried = None
    if retried is not None and len(retried) < len(unparsed):
        connection.execute(f"DROP TABLE {STAGED_TABLE}_sniffed")
        return retried
    connection.execute(f"DROP TABLE IF EXISTS {STAGED_TABLE}")
    connection.execute(f"ALTER TABLE {STAGED_TABLE}_sniffed RENAME TO {STAGED_TABLE}")
    return unparsed


def _stage_whitespace_separated(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    scan: FileScan,
) -> StagedPart:
    """Files whose fields are separated by runs of spaces (fixed-width exports)."""
    try:
        connection.execute(
            """
            CREATE OR REPLACE TEMP TABLE _whitespace_lines AS
            SELECT row_number() OVER () AS line_number,
                   regexp_split_to_array(trim(line), '\\s+') AS fields
            FROM read_csv($path, columns := {'line': 'VARCHAR'}, delim := '\x1f', quote := '',
                          escape := '', header := false, auto_detect := false,
                          encoding := $encoding)
            """,
            {"path": duckdb_path(path), "encoding": _encoding(layout, scan)},
        )
    except duckdb.Error as error:
        raise FileRejected(display_name, f"cannot be read as text: {_first_line(error)}") from error
    first = connection.execute(
        "SELECT fields FROM _whitespace_lines WHERE line_number = 1"
    ).fetchall()
    if not first:
        raise FileRejected(display_name, "the file has no lines")
    width = len(first[0][0])
    names = list(first[0][0]) if layout.header else [f"column{i}" for i in range(width)]
    _check_reserved(display_name, names)
    select = ", ".join(
        f"fields[{i + 1}] AS {quote_identifier(name)}" for i, name in enumerate(names)
    )
    start = 2 if layout.header else 1
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS
        SELECT {select}, line_number AS {STAGED_ROW}
        FROM _whitespace_lines
        WHERE line_number >= {start} AND trim(array_to_string(fields, '')) <> ''
        """
    )
    return _describe(connection, None, [], "text")


def _stage_excel(
    connection: duckdb.DuckDBPyConnection, path: Path, display_name: str, layout: Layout
) -> Iterator[StagedPart]:
    import pandas as pd  # heavy import, only for Excel files

    try:
        sheets = pd.read_excel(
            path,
            sheet_name=layout.sheet if layout.sheet else None,
            dtype=str,
            engine="calamine",
            header=0 if layout.header else None,
        )
    except Exception as error:  # calamine and pandas raise many types for a broken workbook
        raise FileRejected(
            display_name, f"cannot be read as Excel: {_first_line(error)}"
        ) from error
    if not isinstance(sheets, dict):
        sheets = {layout.sheet: sheets}
    non_empty = {name: frame for name, frame in sheets.items() if len(frame.columns) and len(frame)}
    if not non_empty:
        raise FileRejected(display_name, "every sheet of the workbook is empty")
    first_data_row = 2 if layout.header else 1
    for sheet_name, frame in non_empty.items():
        frame = frame.copy()
        frame.columns = [
            str(c) if layout.header else f"column{i}" for i, c in enumerate(frame.columns)
        ]
        _check_reserved(display_name, list(frame.columns))
        frame[STAGED_ROW] = range(first_data_row, first_data_row + len(frame))
        connection.register("_excel_sheet", frame)
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS SELECT * FROM _excel_sheet"
            )
        finally:
            connection.unregister("_excel_sheet")
        yield _describe(connection, str(sheet_name), [], "excel")


def _stage_parquet(
    connection: duckdb.DuckDBPyConnection, path: Path, display_name: str
) -> StagedPart:
    try:
        columns = [
            row[0]
            for row in connection.execute(
                "DESCRIBE SELECT * FROM read_parquet($path)", {"path": duckdb_path(path)}
            ).fetchall()
        ]
        _check_reserved(display_name, columns)
        as_text = ", ".join(
            f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}" for c in columns
        )
        connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS
            SELECT {as_text}, file_row_number + 1 AS {STAGED_ROW}
            FROM read_parquet($path, file_row_number := true)
            """,
            {"path": duckdb_path(path)},
        )
    except duckdb.Error as error:
        raise FileRejected(
            display_name, f"cannot be read as Parquet: {_first_line(error)}"
        ) from error
    return _describe(connection, None, [], "parquet")


def _describe(
    connection: duckdb.DuckDBPyConnection,
    sheet: str | None,
    unparsed: list[tuple[int, str, str]],
    kind: str,
    *,
    source_row: str = quote_identifier(STAGED_ROW),
) -> StagedPart:
    names = [row[0] for row in connection.execute(f"DESCRIBE {STAGED_TABLE}").fetchall()]
    (count,) = one_row(connection, f"SELECT count(*) FROM {STAGED_TABLE}")
    return StagedPart(
        sheet=sheet,
        columns=[name for name in names if name != STAGED_ROW],
        row_count=int(count),
        unparsed_lines=unparsed,
        kind=kind,
        source_row=source_row,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
