"""Stage delimited text files (CSV, TSV, TXT; whitespace-separated layouts) with DuckDB's
CSV reader, every column as text, numbered by the line a text editor shows (header = 1).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from pipeline.ingest.column_mapping import Layout
from pipeline.ingest.encodings import UTF8, BinaryContent, detect_encoding, transcode_to_utf8
from pipeline.ingest.staging import (
    RECORD_NUMBER,
    STAGED_ROW,
    STAGED_TABLE,
    FileRejected,
    StagedPart,
    check_reserved,
    describe,
    duckdb_path,
    first_line,
)
from pipeline.sql_text import one_row, quote_identifier

REJECTS_TABLE = "_csv_rejects"
_BLANK_PROBE = 64 * 1024


def is_blank(path: Path) -> bool:
    """True for a small text file holding only whitespace (and perhaps a BOM)."""
    if path.stat().st_size > _BLANK_PROBE:
        return False
    return not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip()


def as_utf8_text(path: Path, display_name: str, layout: Layout, workdir: Path) -> tuple[Path, str]:
    """``path`` as UTF-8 text for DuckDB (transcoded into ``workdir`` when it is in another
    encoding), and the encoding it was read in (see encodings.py)."""
    encoding = layout.encoding
    if encoding == "auto":
        try:
            encoding = detect_encoding(path)
        except BinaryContent as error:
            raise FileRejected(display_name, f"cannot be read as CSV: {error}") from error
    if encoding in UTF8:
        return path, encoding
    target = Path(tempfile.mkstemp(suffix=".txt", dir=workdir)[1])
    try:
        transcode_to_utf8(path, encoding, target)
    except UnicodeDecodeError as error:
        raise FileRejected(
            display_name,
            f"cannot be read as CSV: not valid {encoding} text at byte {error.start}; set "
            "`encoding:` for this file in column_mappings.yaml",
        ) from error
    return target, encoding


def stage_csv(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    workdir: Path,
) -> StagedPart:
    """Stage one delimited text file (see the module docstring)."""
    text_path, encoding = as_utf8_text(path, display_name, layout, workdir)
    if is_blank(text_path):
        raise FileRejected(display_name, "the file is empty (it holds only blank lines)")
    part = _stage_text(connection, text_path, display_name, layout)
    part.encoding = encoding
    return part


def _stage_text(
    connection: duckdb.DuckDBPyConnection, path: Path, display_name: str, layout: Layout
) -> StagedPart:
    if layout.delimiter == "whitespace":
        return _stage_whitespace_separated(connection, path, display_name, layout)
    options: dict[str, object] = {
        "all_varchar": True,
        "header": layout.header,
        "encoding": "utf-8",
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
    # reader run on one thread.
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
        return describe(connection, None, [], "csv", source_row=record)
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
    part = describe(connection, None, unparsed, "csv")
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
        raise FileRejected(display_name, f"cannot be read as CSV: {first_line(error)}") from error
    names = [row[0] for row in connection.execute(f"DESCRIBE {STAGED_TABLE}").fetchall()]
    check_reserved(display_name, names)
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
    connection: duckdb.DuckDBPyConnection, path: Path, display_name: str, layout: Layout
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
            {"path": duckdb_path(path), "encoding": "utf-8"},
        )
    except duckdb.Error as error:
        raise FileRejected(display_name, f"cannot be read as text: {first_line(error)}") from error
    first = connection.execute(
        "SELECT fields FROM _whitespace_lines WHERE line_number = 1"
    ).fetchall()
    if not first:
        raise FileRejected(display_name, "the file has no lines")
    width = len(first[0][0])
    names = list(first[0][0]) if layout.header else [f"column{i}" for i in range(width)]
    check_reserved(display_name, names)
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
    return describe(connection, None, [], "text")
