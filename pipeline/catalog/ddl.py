"""SQL derived from the contracts: the DDL of the tables created empty, and the
``COMMENT ON`` statements that let a BI tool show what each table and column means."""

from __future__ import annotations

from collections.abc import Collection

from pipeline.catalog import TABLES
from pipeline.sql_text import qualified, quote_identifier, quote_literal


def create_table_sql(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a contract marked ``created_empty``: its columns
    in order, with ``NOT NULL`` on the columns its ``not_null`` checks name."""
    contract = TABLES[table]
    if not contract.created_empty:
        raise ValueError(f"{table} is not created empty (see created_empty in its contract)")
    not_null = contract.not_null_columns
    columns = ",\n".join(
        f"    {quote_identifier(c.name)} {c.type}{' NOT NULL' if c.name in not_null else ''}"
        for c in contract.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {qualified(table)} (\n{columns}\n);\n"


def create_tables_sql(*tables: str) -> str:
    """The schemas and tables, in order, as one script."""
    schemas = dict.fromkeys(table.split(".")[0] for table in tables)
    return "".join(
        [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)};\n" for schema in schemas]
        + [create_table_sql(table) for table in tables]
    )


def comment_statements(table: str, present_columns: Collection[str]) -> list[str]:
    """``COMMENT ON`` the table and each of its contract's columns that the table has."""
    contract = TABLES[table]
    target = qualified(table)
    statements = [f"COMMENT ON TABLE {target} IS {quote_literal(contract.description)}"]
    statements += [
        f"COMMENT ON COLUMN {target}.{quote_identifier(c.name)} IS {quote_literal(c.description)}"
        for c in contract.columns
        if c.name in present_columns
    ]
    return statements
