"""Read CSV, Excel and Parquet files into a DuckDB temp table of text columns.

Every value is staged as text so that typing happens once, in SQL, with per-row error
reporting (see typed_rows.py). Each staged part (a file, or one Excel sheet) carries the
``source_row`` a person would look up: the line number of a CSV (header = line 1), the
spreadsheet row of an Excel sheet, the 1-based row index of a Parquet file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.ingest.archives import extracted_members, gunzip, inner_name
from pipeline.ingest.column_mapping import Layout
from pipeline.ingest.csv_reader import stage_csv
from pipeline.ingest.excel import stage_excel
from pipeline.ingest.file_scan import FileScan, content_hash, file_signature, scan_file
from pipeline.ingest.staging import (
    STAGED_ROW,
    STAGED_TABLE,
    FileRejected,
    StagedPart,
    check_reserved,
    describe,
    duckdb_path,
    first_line,
    is_archive_name,
)
from pipeline.sql_text import quote_identifier

__all__ = [
    "FileRejected",
    "FileScan",
    "StagedPart",
    "content_hash",
    "file_signature",
    "scan_file",
    "stage_parts",
]

CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES


def stage_parts(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    display_name: str,
    layout: Layout,
    scan: FileScan,
) -> Iterator[StagedPart]:
    """Stage each part of ``path`` in turn; the table is replaced for every part yielded.
    Decompressed and transcoded copies live in a work folder removed afterwards."""
    if scan.size_bytes == 0:
        raise FileRejected(display_name, "the file is empty")
    with tempfile.TemporaryDirectory(prefix="ingest-") as workdir:
        yield from _stage_file(connection, path, path.name, display_name, layout, Path(workdir))


def _stage_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    display_name: str,
    layout: Layout,
    workdir: Path,
) -> Iterator[StagedPart]:
    """Stage ``path``, whose type its ``name`` says (a member's name inside an archive)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".gz" and Path(inner_name(name)).suffix.lower() in CSV_SUFFIXES:
        inner_suffix = Path(inner_name(name)).suffix.lower()
        text = gunzip(path, display_name, workdir, inner_suffix)
        yield stage_csv(connection, text, display_name, layout, workdir)
    elif is_archive_name(name):
        for member, extracted in extracted_members(path, display_name, workdir):
            member_name = f"{display_name}!{member}"
            for part in _stage_file(connection, extracted, member, member_name, layout, workdir):
                part.source_file = part.source_file or member_name
                yield part
    elif suffix in CSV_SUFFIXES:
        yield stage_csv(connection, path, display_name, layout, workdir)
    elif suffix in EXCEL_SUFFIXES:
        yield from stage_excel(connection, path, display_name, layout)
    elif suffix in PARQUET_SUFFIXES:
        yield _stage_parquet(connection, path, display_name)
    else:
        raise FileRejected(
            display_name,
            f"unsupported file type {suffix or '(none)'}; supported: "
            f"{', '.join(sorted(SUPPORTED_SUFFIXES))}, and .csv.gz, .tsv.gz, .txt.gz, .zip",
        )


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
        check_reserved(display_name, columns)
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
            display_name, f"cannot be read as Parquet: {first_line(error)}"
        ) from error
    return describe(connection, None, [], "parquet")
