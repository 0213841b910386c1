"""Stage Excel workbooks (every sheet, or the layout's one) as text columns, numbered by
spreadsheet row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.ingest.column_mapping import Layout
from pipeline.ingest.staging import (
    STAGED_ROW,
    STAGED_TABLE,
    FileRejected,
    StagedPart,
    check_reserved,
    describe,
    first_line,
)


def stage_excel(
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
        raise FileRejected(display_name, f"cannot be read as Excel: {first_line(error)}") from error
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
        check_reserved(display_name, list(frame.columns))
        frame[STAGED_ROW] = range(first_data_row, first_data_row + len(frame))
        connection.register("_excel_sheet", frame)
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS SELECT * FROM _excel_sheet"
            )
        finally:
            connection.unregister("_excel_sheet")
        yield describe(connection, str(sheet_name), [], "excel")
