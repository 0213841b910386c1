"""The staged part: one file, sheet or archive member read into the temp table
STAGED_TABLE as text columns, with the ``source_row`` a person would look up, and the
rejection of a file that cannot be staged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.sql_text import one_row, quote_identifier

STAGED_TABLE = "_staged_rows"
# The staged table's lineage column: the row a person would look up in the source file.
# Internal column names are reserved; a file with a column of the same name is rejected
# (a file's own "source_row" column is just another column).
STAGED_ROW = "_source_row"
RECORD_NUMBER = "_record_number"
RESERVED_COLUMNS = (STAGED_ROW, RECORD_NUMBER)


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
    encoding: str | None = None  # the text encoding read (delimited text only)
    # The lineage name of an archive's member ('export.zip!orders.csv'); None: the file's.
    source_file: str | None = None


def duckdb_path(path: Path) -> str:
    """``path`` for DuckDB's file readers, which expand globs: ``*``, ``?`` and ``[`` in a
    file name are matched literally (``sales [2011].csv`` must not read ``sales 2.csv``)."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def check_reserved(display_name: str, columns: list[str]) -> None:
    reserved = {name.casefold() for name in RESERVED_COLUMNS}
    for column in columns:
        if str(column).casefold() in reserved:
            raise FileRejected(
                display_name,
                f"the column name {column!r} is reserved for the pipeline's lineage; "
                "rename that column",
                column=str(column),
            )


def describe(
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


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# Archives whose members are staged one by one; their rows' source_file is
# 'archive.zip!member.csv'.
ARCHIVE_SUFFIXES = (".zip",)


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)
