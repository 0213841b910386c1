"""Write a pandas frame as a warehouse table with exactly its contract's columns and types.

Every table that Python computes per customer (segments, scores, model reports, marts) is
written here. The table is created from its :data:`pipeline.catalog.TABLES` entry and
filled by column name in one transaction, so an empty result still has the documented
schema and a failed write leaves the previous table in place.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from pipeline.catalog import TABLES
from pipeline.sql_text import qualified, quote_identifier, transaction

REASON_TYPE = pa.list_(
    pa.struct(
        [
            ("feature", pa.string()),
            ("value", pa.float64()),
            ("contribution", pa.float64()),
            ("direction", pa.string()),
        ]
    )
)


def _arrow(frame: pd.DataFrame, columns: list[str]) -> pa.Table:
    arrays = {}
    for name in columns:
        values = frame[name]
        if name == "reasons":
            # An Arrow column (the scorers' top reasons) goes through as it is.
            source = values.array if isinstance(values.dtype, pd.ArrowDtype) else list(values)
            arrays[name] = pa.array(source, type=REASON_TYPE)
        elif values.dtype == object:
            arrays[name] = pa.array(
                [None if v is None or v is pd.NA else v for v in values], from_pandas=True
            )
        else:
            arrays[name] = pa.Array.from_pandas(values)
    return pa.table(arrays) if arrays else pa.table({})


def replace_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    order_by: str | None = None,
) -> int:
    """Replace ``table`` with the rows of ``frame`` (which must hold every catalog column,
    cast to the contract's types), stored in ``order_by``'s order when one is given;
    returns the number of rows written."""
    doc = TABLES[table]
    names = [c.name for c in doc.columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the frame lacks the columns {missing}")
    definition = ", ".join(f"{quote_identifier(c.name)} {c.type}" for c in doc.columns)
    column_list = ", ".join(quote_identifier(n) for n in names)
    casts = ", ".join(f"CAST({quote_identifier(c.name)} AS {c.type})" for c in doc.columns)
    order = f" ORDER BY {quote_identifier(order_by)}" if order_by else ""
    schema = table.split(".")[0]
    incoming = _arrow(frame, names)
    with transaction(connection):
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        connection.execute(f"CREATE OR REPLACE TABLE {qualified(table)} ({definition})")
        if len(frame):
            connection.register("incoming_rows", incoming)
            connection.execute(
                f"INSERT INTO {qualified(table)} ({column_list}) "
                f"SELECT {casts} FROM incoming_rows{order}"
            )
            connection.unregister("incoming_rows")
    return len(frame)


def empty_frame(table: str) -> pd.DataFrame:
    """No rows, every catalog column (for a step that has nothing to write)."""
    return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in TABLES[table].columns})
