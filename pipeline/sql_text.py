"""SQL helpers: quoting for identifiers that come from users' files, single-row reads, temp
tables for a query computed in steps, a transaction that rolls back on any error, and
statements run together in one commit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext


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


def parameters_named(sql: str, parameters: Mapping[str, object]) -> dict[str, object]:
    """The ``$parameters`` that ``sql`` names (DuckDB refuses unused ones)."""
    return {key: value for key, value in parameters.items() if f"${key}" in sql}


@contextmanager
def temp_tables(
    connection, parts: Sequence[tuple[str, str]], parameters: Mapping[str, object]
) -> Iterator[None]:
    """Create each ``(name, SELECT)`` of ``parts`` as a temp table, in order (a SELECT may
    read the earlier ones and gets the ``$parameters`` it names), and drop them all after.

    For per-customer aggregates over very many lines: each step grouped on its own keeps
    DuckDB's plan simple enough to spill (see pipeline.features)."""
    try:
        for name, sql in parts:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", parameters_named(sql, parameters)
            )
        yield
    finally:
        for name, _ in reversed(parts):
            connection.execute(f"DROP TABLE IF EXISTS {name}")


@contextmanager
def transaction(connection) -> Iterator[None]:
    """The block's statements in one transaction: committed at the end, rolled back if
    anything in it raises (Ctrl-C included), so no reader sees half of it."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def execute_together(connection, statements: Iterable[str]) -> None:
    """Run ``statements`` in one transaction: one commit (one write of DuckDB's log) for all
    of them instead of one each, ~3 ms apiece on this machine for a COMMENT ON (figures in
    benchmarks/RESULTS.md). Inside a transaction the caller opened, they join it."""
    with nullcontext() if in_transaction(connection) else transaction(connection):
        for statement in statements:
            connection.execute(statement)


def in_transaction(connection) -> bool:
    """Whether the connection has a transaction open: two statements in autocommit mode run
    in two transactions. (A BEGIN to find out would abort the open transaction.)"""
    query = "SELECT current_transaction_id()"
    return one_row(connection, query) == one_row(connection, query)
