"""Stage Excel workbooks (every sheet, or the layout's one) as text columns, numbered by
spreadsheet row, the way a person reads a sheet:

- the table need not start at A1: the header is the first of the sheet's first non-empty
  rows that names the required columns (else the one naming the most canonical columns,
  else the first non-empty row), so title rows above it and empty columns before it are
  skipped; the table spans the header's first to last named cell, and its rows are those
  below the header that hold a value in that span;
- cells are read as they are stored: no text is taken for missing here (the one
  missing-value rule is applied in SQL for every reader alike); whole numbers are written
  without '.0'; dates as ISO text; numbers in the date column (dates in General-format
  cells) as Excel serial dates of the 1900 date system;
- error cells (#N/A, #DIV/0!, #VALUE!, ...) of .xlsx/.xlsm files are staged as
  '<code> (error cell)', which quarantines their row against their own column.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import duckdb

from pipeline.ingest.column_mapping import (
    Layout,
    MappingError,
    missing_required,
    resolve_columns,
)
from pipeline.ingest.staging import (
    STAGED_ROW,
    STAGED_TABLE,
    FileRejected,
    StagedPart,
    check_reserved,
    describe,
    first_line,
)

ERROR_CELL = " (error cell)"
HEADER_SEARCH_ROWS = 30
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (with Excel's 1900 leap day)
_MAX_SERIAL = 2958465  # 9999-12-31
_NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_ERROR_CELL_XML = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)>(.*?)</c>', re.DOTALL)
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - ord("A") + 1
    return index - 1


def error_cells(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Per sheet name, the error cells of an .xlsx/.xlsm workbook: (row, column) from 0 ->
    error code. calamine reads an error cell as empty; the sheet XML says what it was."""
    errors: dict[str, dict[tuple[int, int], str]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
            for sheet in workbook.iterfind("main:sheets/main:sheet", _NS):
                target = targets.get(sheet.get(_REL_ID), "")
                part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                xml = archive.read(str(PurePosixPath(part)))
                if b't="e"' not in xml:
                    continue
                cells = errors.setdefault(sheet.get("name", ""), {})
                for match in _ERROR_CELL_XML.finditer(xml):
                    ref, value = _CELL_REF.search(match[1]), _CELL_VALUE.search(match[2])
                    if ref and value:
                        cells[(int(ref[2]) - 1, _column_index(ref[1]))] = value[1].decode()
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}  # not an Office Open XML workbook (.xls): no error cells known
    return errors


def _text(value: object, is_date_column: bool) -> str | None:
    """A cell as the text staged for SQL typing (see the module docstring)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if is_date_column and 1 <= value <= _MAX_SERIAL:
            moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
            return (moment + dt.timedelta(microseconds=500)).replace(microsecond=0).isoformat(" ")
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _named(row: list[object]) -> list[int]:
    return [j for j, cell in enumerate(row) if _text(cell, False) is not None]


def _resolved(names: list[str], layout: Layout) -> dict[str, str]:
    try:
        return resolve_columns(names, layout)
    except MappingError:
        return {}


def find_header(rows: list[list[object]], layout: Layout) -> int | None:
    """The index of the header row (see the module docstring); None for an empty sheet."""
    candidates = [i for i, row in enumerate(rows) if _named(row)][:HEADER_SEARCH_ROWS]
    if not candidates:
        return None
    best, best_score = candidates[0], 0
    for i in candidates:
        resolved = _resolved([str(rows[i][j]) for j in _named(rows[i])], layout)
        if resolved and not missing_required(resolved):
            return i
        if len(resolved) > best_score:
            best, best_score = i, len(resolved)
    return best


def _column_names(header: list[object], first: int, last: int) -> list[str]:
    names: list[str] = []
    for j in range(first, last + 1):
        name = _text(header[j], False) or f"column{j + 1}"
        base, copy = name, 0
        while name in names:
            copy += 1
            name = f"{base}.{copy}"
        names.append(name)
    return names


def sheet_table(
    rows: list[list[object]], layout: Layout, errors: dict[tuple[int, int], str]
) -> tuple[list[str], list[list[str | None]]] | None:
    """(column names, rows of text with the spreadsheet row last) of the sheet's table, or
    None when the sheet holds no table."""
    if layout.header:
        header_index = find_header(rows, layout)
        if header_index is None:
            return None
        named = _named(rows[header_index])
        first, last = named[0], named[-1]
        names = _column_names(rows[header_index], first, last)
        body = range(header_index + 1, len(rows))
    else:
        used = [j for row in rows for j in _named(row)]
        if not used:
            return None
        first, last = min(used), max(used)
        names = [f"column{j}" for j in range(last - first + 1)]
        body = range(len(rows))
    date_source = _resolved(names, layout).get("invoice_ts")
    date_column = names.index(date_source) + first if date_source else -1
    table = []
    for i in body:
        row = rows[i]
        cells = [
            f"{errors[(i, j)]}{ERROR_CELL}"
            if (i, j) in errors
            else _text(row[j] if j < len(row) else None, j == date_column)
            for j in range(first, last + 1)
        ]
        if any(cell is not None for cell in cells):
            table.append([*cells, i + 1])
    return names, table


def stage_excel(
    connection: duckdb.DuckDBPyConnection, path: Path, display_name: str, layout: Layout
) -> Iterator[StagedPart]:
    import pandas as pd  # heavy import, only for Excel files
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = [layout.sheet] if layout.sheet else list(workbook.sheet_names)
        sheets = [
            (name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in names
        ]
    except Exception as error:  # calamine raises many types for a broken workbook
        raise FileRejected(display_name, f"cannot be read as Excel: {first_line(error)}") from error
    errors = error_cells(path)
    staged = 0
    for sheet_name, rows in sheets:
        table = sheet_table(rows, layout, errors.get(sheet_name, {}))
        if table is None or not table[1]:
            continue
        columns, body = table
        check_reserved(display_name, columns)
        frame = pd.DataFrame(body, columns=[*columns, STAGED_ROW], dtype=object)
        frame[STAGED_ROW] = frame[STAGED_ROW].astype("int64")
        connection.register("_excel_sheet", frame)
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS SELECT * FROM _excel_sheet"
            )
        finally:
            connection.unregister("_excel_sheet")
        staged += 1
        yield describe(connection, str(sheet_name), [], "excel")
    if not staged:
        raise FileRejected(display_name, "every sheet of the workbook is empty")
