"""Static SQL kept in ``.sql`` files beside the module that runs it, shipped as package data.

A statement in several steps is a folder of numbered files (``01_*.sql``, ``02_*.sql``),
run in order. A computation in parts (see :func:`pipeline.sql_text.temp_tables`) is a folder
of numbered SELECTs whose names after the number are the temp tables they fill:
``01__features_orders.sql`` fills ``_features_orders``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import duckdb

from pipeline.sql_text import parameters_named


class SqlFiles:
    """The ``.sql`` files of one package: ``SqlFiles(__package__)`` in its modules."""

    def __init__(self, package: str):
        self.package = package

    @cache  # noqa: B019 (one instance per package, alive as long as the process)
    def read(self, name: str) -> str:
        """The text of ``<package>/<name>``, e.g. ``typing_macros.sql``."""
        return files(self.package).joinpath(name).read_text(encoding="utf-8")

    @cache  # noqa: B019
    def _names(self, folder: str) -> tuple[str, ...]:
        return tuple(
            sorted(
                entry.name
                for entry in files(self.package).joinpath(folder).iterdir()
                if entry.name.endswith(".sql")
            )
        )

    def steps(self, folder: str) -> tuple[str, ...]:
        """The numbered ``.sql`` files of ``<package>/<folder>/``, in order."""
        return tuple(self.read(f"{folder}/{name}") for name in self._names(folder))

    def parts(self, folder: str) -> tuple[tuple[str, str], ...]:
        """``(temp table, SELECT)`` for each numbered file of ``folder``, in order."""
        return tuple(
            (name.removesuffix(".sql").split("_", 1)[1], self.read(f"{folder}/{name}"))
            for name in self._names(folder)
        )

    def run_steps(
        self,
        connection: duckdb.DuckDBPyConnection,
        folder: str,
        parameters: dict | None = None,
    ) -> None:
        """Run the steps of ``folder`` in order, each with the ``$parameters`` it names."""
        for sql in self.steps(folder):
            connection.execute(sql, parameters_named(sql, parameters or {}))
