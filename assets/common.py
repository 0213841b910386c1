"""Shared wiring for the asset modules: specs built from the table contracts, and metadata."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
from dagster import (
    AssetKey,
    AssetSpec,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
)

from pipeline.catalog import TABLES
from pipeline.catalog.ddl import comment_statements
from pipeline.sql_text import execute_together, one_row, qualified

OWNERS = ["team:data-platform"]


def table_key(table: str) -> AssetKey:
    """Asset key of a warehouse table: ``staging.transactions`` -> ["staging", "transactions"]."""
    return AssetKey(table.split("."))


def column_schema(table: str) -> TableSchema:
    """The contract's columns, with the not-null and unique constraints its checks state."""
    contract = TABLES[table]
    not_null = contract.not_null_columns
    unique = {c for check in contract.checks if check.kind == "unique" for c in check.columns}
    if len(contract.key) == 1 and any(check.kind == "unique_key" for check in contract.checks):
        unique.update(contract.key)
    return TableSchema(
        columns=[
            TableColumn(
                name=c.name,
                type=c.type,
                description=c.description,
                constraints=TableColumnConstraints(
                    nullable=c.name not in not_null, unique=c.name in unique
                ),
            )
            for c in contract.columns
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
    """The AssetSpec of a table, with description, column schema and table name from its
    contract, so the UI and the DuckDB comments never disagree."""
    contract = TABLES[table]
    metadata: dict[str, object] = {"dagster/column_schema": column_schema(table)}
    if contract.in_warehouse:
        metadata["dagster/table_name"] = table
    return AssetSpec(
        key=table_key(table),
        description=contract.description,
        group_name=group,
        deps=[table_key(d) for d in deps],
        kinds=set(kinds),
        owners=OWNERS,
        skippable=skippable,
        metadata=metadata,
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


def frame_markdown(frame, limit: int = 15) -> str:
    """The first ``limit`` rows of a pandas frame as a Markdown table, figures to 4 decimals."""
    rows = frame.head(limit).round(4).itertuples(index=False)
    return markdown_rows(list(rows), list(frame.columns))


def comment_table(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """COMMENT ON the table and its columns from its contract, so BI tools show what each
    column means."""
    schema, name = table.split(".")
    present = {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = $s AND table_name = $t",
            {"s": schema, "t": name},
        ).fetchall()
    }
    execute_together(connection, comment_statements(table, present))


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
