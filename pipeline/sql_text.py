"""SQL helpers: quoting for identifiers that come from users' files, and single-row reads."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Double-quote ``name`` for DuckDB, escaping embedded quotes, so any header is safe."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal, for the few statements that take no parameters (COMMENT ON)."""
    return "'" + str(value).replace("'", "''") + "'"


def qualified(table: str) -> str:
    """Quote a ``schema.table`` name part by part."""
    return ".".join(quote_identifier(part) for part in table.split("."))


def one_row(connection, sql: str, parameters: dict | None = None) -> tuple:
    """The single row a query returns, read to the end (DuckDB 2 refuses other work on a
    connection while a result is only partly fetched)."""
    rows = connection.execute(sql, parameters or {}).fetchall()
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)} from: {sql.strip()[:80]}")
    return rows[0]
