"""Quoting for SQL identifiers that come from users' files (column and table names)."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Double-quote ``name`` for DuckDB, escaping embedded quotes, so any header is safe."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified(table: str) -> str:
    """Quote a ``schema.table`` name part by part."""
    return ".".join(quote_identifier(part) for part in table.split("."))
