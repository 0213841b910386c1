"""Shared wiring for the asset modules: specs built from the table catalog, and metadata."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
from dagster import AssetKey, AssetSpec, MetadataValue, TableColumn, TableSchema

from pipeline.catalog import TABLES
from pipeline.sql_text import one_row, qualified, quote_identifier, quote_literal

OWNERS = ["team:data-platform"]


def table_key(table: str) -> AssetKey:
    """Asset key of a warehouse table: ``staging.transactions`` -> ["staging", "transactions"]."""
    return AssetKey(table.split("."))


def column_schema(table: str) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(name=c.name, type=c.type, description=c.description)
            for c in TABLES[table].columns
        ]
    )


def table_spec(
    table: str,
    *,
    group: str,
    deps: Iterable[str] = (),
    kinds: Sequence[str] = ("duckdb",),
    skippable: bool = False,
) -> AssetSpec:
    """The AssetSpec of a warehouse table, with description and column schema from the
    catalog, so the UI and the DuckDB comments never disagree."""
    doc = TABLES[table]
    return AssetSpec(
        key=table_key(table),
        description=doc.description,
        group_name=group,
        deps=[table_key(d) for d in deps],
        kinds=set(kinds),
        owners=OWNERS,
        skippable=skippable,
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": table,
            "table": table,
        },
    )


def row_count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    (count,) = one_row(connection, f"SELECT count(*) FROM {qualified(table)}")
    return int(count)


def markdown_preview(connection: duckdb.DuckDBPyConnection, table: str, limit: int = 5) -> str:
    cursor = connection.execute(f"SELECT * FROM {qualified(table)} LIMIT {int(limit)}")
    header = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return markdown_rows(rows, header) if rows else "_(no rows)_"


def markdown_rows(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """A small Markdown table for metadata."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def comment_table(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """COMMENT ON the table and its columns from the catalog, so BI tools show what each
    column means."""
    doc = TABLES[table]
    target = qualified(table)
    connection.execute(f"COMMENT ON TABLE {target} IS {quote_literal(doc.description)}")
    schema, name = table.split(".")
    present = {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = $s AND table_name = $t",
            {"s": schema, "t": name},
        ).fetchall()
    }
    for column in doc.columns:
        if column.name in present:
            connection.execute(
                f"COMMENT ON COLUMN {target}.{quote_identifier(column.name)} "
                f"IS {quote_literal(column.description)}"
            )


def comment_and_describe(connection: duckdb.DuckDBPyConnection, table: str, preview: bool = True):
    """After an asset wrote ``table``: comment it in DuckDB from the catalog and return the
    Dagster metadata (row count, table name, a preview of the first rows)."""
    comment_table(connection, table)
    metadata = {
        "dagster/row_count": row_count(connection, table),
        "dagster/table_name": table,
    }
    if preview:
        metadata["preview"] = MetadataValue.md(markdown_preview(connection, table))
    return metadata
