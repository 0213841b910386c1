"""The lake: the Spark engine's tables, as Parquet under a root (``DATA_DIR/lake`` by
default, or an ``s3://`` / ``hdfs://`` URL), with the DuckDB warehouse on either side.

Each write of a table goes to a new folder, ``<root>/<schema>/<table>/v<time>-<id>/``, and
becomes the table only when the manifest (``DATA_DIR/lake_manifest.json``, replaced with an
atomic rename) names it: a reader that follows the manifest sees the old table or the new
one, never half of one. A folder is never written twice, so a Spark session whose catalog
still holds an older location (a local Spark keeps it in memory) cannot read a table that
changed under it; the folder a table replaced is deleted once the manifest moved on (on a
local root; on a remote one, the storage's lifecycle rules do it).

DuckDB writes what Spark reads (``raw.transactions`` with its ``rowid``, which the cleaning
rules use to keep the first copy of a duplicate line; the product categories) and reads
back what Spark wrote, so the layers after the transaction-level ones are unchanged. Both
go through DuckDB's Parquet reader and writer, so a remote root must be one DuckDB can
reach as well (``s3://`` with its httpfs extension and credentials).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.catalog import TABLES
from pipeline.sql_text import one_row, qualified, quote_identifier

REMOTE_SCHEMES = ("s3://", "s3a://", "hdfs://", "abfss://", "gs://")


def is_remote(root: str) -> bool:
    return root.startswith(REMOTE_SCHEMES)


@dataclass(frozen=True)
class Lake:
    """Table locations under ``root``; ``manifest`` says which folder is each table now."""

    root: str
    manifest: Path

    @classmethod
    def under(cls, data_dir: Path, root: str = "") -> Lake:
        return cls(root=root or str(data_dir / "lake"), manifest=data_dir / "lake_manifest.json")

    def _entries(self) -> dict[str, dict]:
        if not self.manifest.exists():
            return {}
        return json.loads(self.manifest.read_text(encoding="utf-8"))

    def location(self, table: str) -> str | None:
        """The folder that holds ``table`` now, or None before its first write."""
        entry = self._entries().get(table)
        return entry["location"] if entry else None

    def rows(self, table: str) -> int | None:
        entry = self._entries().get(table)
        return entry["rows"] if entry else None

    def new_location(self, table: str) -> str:
        """A folder never used before, for the next version of ``table``."""
        schema, name = table.split(".")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        return f"{self.root.rstrip('/')}/{schema}/{name}/v{stamp}-{uuid.uuid4().hex[:8]}"

    def commit(self, table: str, location: str, rows: int) -> None:
        """Make ``location`` the table (one atomic rename), then delete the folder it replaced."""
        entries = self._entries()
        previous = entries.get(table, {}).get("location")
        entries[table] = {"location": location, "rows": rows}
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        staged = self.manifest.with_name(f".{self.manifest.name}.{uuid.uuid4().hex}")
        staged.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(staged, self.manifest)
        if previous and previous != location and not is_remote(previous):
            shutil.rmtree(previous, ignore_errors=True)


def parquet_files(location: str) -> str:
    return f"{location}/*.parquet"


def export_to_lake(
    connection: duckdb.DuckDBPyConnection, lake: Lake, table: str, select_sql: str
) -> str:
    """Write ``select_sql``'s result (on DuckDB) as the lake's new ``table``; its folder."""
    location = lake.new_location(table)
    if not is_remote(location):
        Path(location).mkdir(parents=True)
    connection.execute(
        "COPY (" + select_sql + ") TO $path (FORMAT parquet)",
        {"path": f"{location}/part-00000.parquet"},
    )
    (rows,) = one_row(
        connection, "SELECT count(*) FROM read_parquet($files)", {"files": parquet_files(location)}
    )
    lake.commit(table, location, int(rows))
    return location


def import_from_lake(connection: duckdb.DuckDBPyConnection, lake: Lake, table: str) -> int:
    """Replace the warehouse's ``table`` with the lake's, each column of its contract cast to
    the contract's type (Spark's INT day counts are BIGINT here, as DuckDB computes them)."""
    location = lake.location(table)
    if location is None:
        raise ValueError(f"the lake has no {table} yet: its Spark step has not run")
    types = {column.name: column.type for column in TABLES[table].columns}
    present = [
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet($files))",
            {"files": parquet_files(location)},
        ).fetchall()
    ]
    columns = ", ".join(
        f"CAST({quote_identifier(name)} AS {types[name]}) AS {quote_identifier(name)}"
        if name in types
        else quote_identifier(name)
        for name in present
    )
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(table.split('.')[0])}")
    connection.execute(
        f"CREATE OR REPLACE TABLE {qualified(table)} AS SELECT {columns} FROM read_parquet($files)",
        {"files": parquet_files(location)},
    )
    (rows,) = one_row(connection, f"SELECT count(*) FROM {qualified(table)}")
    return int(rows)
