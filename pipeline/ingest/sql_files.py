"""The static SQL of the ingest package: ``.sql`` files beside these modules, shipped as
package data. A statement in several steps is a folder of numbered files (``01_*.sql``,
``02_*.sql``), run in order."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import duckdb


@cache
def read_sql(name: str) -> str:
    """The text of ``pipeline/ingest/<name>``, e.g. ``typing_macros.sql``."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def sql_steps(folder: str) -> tuple[str, ...]:
    """The numbered ``.sql`` files of ``pipeline/ingest/<folder>/``, in order."""
    steps = sorted(
        entry.name
        for entry in files(__package__).joinpath(folder).iterdir()
        if entry.name.endswith(".sql")
    )
    return tuple(read_sql(f"{folder}/{name}") for name in steps)


def run_steps(
    connection: duckdb.DuckDBPyConnection, folder: str, parameters: dict | None = None
) -> None:
    """Run the steps of ``folder`` in order, each with the ``$parameters`` it names."""
    for sql in sql_steps(folder):
        used = {key: value for key, value in (parameters or {}).items() if f"${key}" in sql}
        connection.execute(sql, used)
