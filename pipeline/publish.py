"""Publish the BI snapshot: a separate DuckDB file, replaced atomically.

BI tools never open the working warehouse (that would block the pipeline's writer, or be
blocked by it). The snapshot is built in a new file beside the published one and renamed
over it: a reader that already holds the old file keeps reading it, new readers open the
new one, and a failed or killed publish leaves the previous snapshot in place (only a
``*.building`` file is left behind, removed by the next publish).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.catalog import published_tables
from pipeline.sql_text import execute_together, qualified, quote_identifier, quote_literal

SNAPSHOT_ALIAS = "snapshot"
INFO_TABLE = "snapshot_info"


@dataclass(frozen=True)
class PublishedSnapshot:
    path: Path
    tables: dict[str, int]  # table -> rows
    published_at: dt.datetime
    size_bytes: int
    reused: tuple[str, ...] = ()  # tables kept from the previous snapshot, unchanged


def _tables_to_publish(
    connection: duckdb.DuckDBPyConnection, tables: Sequence[str]
) -> list[tuple[str, str]]:
    """``(schema, table)`` of those of ``tables`` the warehouse holds (a table whose asset
    has not run yet is left out, and the snapshot's readers see it missing)."""
    return connection.execute(
        """
        SELECT schema_name, table_name FROM duckdb_tables()
        WHERE database_name = current_database() AND NOT temporary
              AND schema_name || '.' || table_name IN (SELECT unnest($tables))
        ORDER BY schema_name, table_name
        """,
        {"tables": list(tables)},
    ).fetchall()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish_snapshot(
    connection: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    *,
    tables: Sequence[str] | None = None,
    run_id: str = "",
) -> PublishedSnapshot:
    """Copy ``tables`` (default: the contracts marked published, see
    :func:`pipeline.catalog.published_tables`) with their comments into a new snapshot file
    and atomically replace ``snapshot_path`` with it.

    The new file starts as a copy of the published one, and a table whose fingerprint (rows,
    the sum of its rows' hashes, its columns and comments) equals the one recorded there is
    kept rather than copied again: the history, the largest table, changes only when a
    snapshot is taken, not at every refresh."""
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    building = snapshot_path.with_name(snapshot_path.name + ".building")
    building.unlink(missing_ok=True)
    building.with_name(building.name + ".wal").unlink(missing_ok=True)
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    counts: dict[str, int] = {}
    reused: list[str] = []
    previous = _start_from(connection, snapshot_path, building)
    try:
        present = _tables_to_publish(connection, published_tables() if tables is None else tables)
        layouts = _layouts(connection, present)
        fingerprints = {name: _fingerprint(connection, layouts[name]) for name in layouts}
        for name in set(previous) - set(fingerprints):
            connection.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_ALIAS}.{qualified(name)}")
        for schema in sorted({schema for schema, _ in present}):
            connection.execute(
                f"CREATE SCHEMA IF NOT EXISTS {SNAPSHOT_ALIAS}.{quote_identifier(schema)}"
            )
        for schema, table in present:
            name = f"{schema}.{table}"
            source = qualified(name)
            target = f"{SNAPSHOT_ALIAS}.{source}"
            if previous.get(name, (None,))[0] == fingerprints[name].text:
                counts[name] = previous[name][1]
                reused.append(name)
                continue
            connection.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
            counts[name] = fingerprints[name].rows
            _copy_comments(connection, layouts[name], target)
        connection.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_ALIAS}.main.{INFO_TABLE} AS "
            "SELECT $published_at AS published_at, $run_id AS run_id, "
            "unnest($names::VARCHAR[]) AS table_name, unnest($rows::BIGINT[]) AS row_count, "
            "unnest($fingerprints::VARCHAR[]) AS fingerprint",
            {
                "published_at": published_at,
                "run_id": run_id,
                "names": list(counts),
                "rows": list(counts.values()),
                "fingerprints": [fingerprints[name].text for name in counts],
            },
        )
        connection.execute(f"CHECKPOINT {SNAPSHOT_ALIAS}")
    finally:
        connection.execute(f"DETACH {SNAPSHOT_ALIAS}")
    _fsync(building)
    os.replace(building, snapshot_path)
    _fsync(snapshot_path.parent)
    return PublishedSnapshot(
        snapshot_path, counts, published_at, snapshot_path.stat().st_size, tuple(reused)
    )


def _start_from(
    connection: duckdb.DuckDBPyConnection, snapshot_path: Path, building: Path
) -> dict[str, tuple[str, int]]:
    """Attach ``building`` as a copy of the published snapshot and return what that one
    recorded, ``{table: (fingerprint, rows)}``; an empty new file when there is no published
    snapshot, it records no fingerprints (an earlier layout) or it cannot be read."""
    if snapshot_path.exists():
        shutil.copyfile(snapshot_path, building)
        try:
            connection.execute(f"ATTACH $path AS {SNAPSHOT_ALIAS}", {"path": str(building)})
        except duckdb.Error:
            building.unlink(missing_ok=True)
        else:
            try:
                rows = connection.execute(
                    f"SELECT table_name, fingerprint, row_count "
                    f"FROM {SNAPSHOT_ALIAS}.main.{INFO_TABLE}"
                ).fetchall()
                return {name: (fingerprint, int(count)) for name, fingerprint, count in rows}
            except duckdb.Error:  # nothing can be kept: start empty rather than rewrite it all
                connection.execute(f"DETACH {SNAPSHOT_ALIAS}")
                building.unlink()
    connection.execute(f"ATTACH $path AS {SNAPSHOT_ALIAS}", {"path": str(building)})
    return {}


@dataclass(frozen=True)
class _Layout:
    """A table's name and what the catalog says of it: its comment (duckdb_tables()'s row)
    and its columns' names, types and comments, in column order."""

    name: str
    comment: list[tuple]
    columns: list[tuple]


def _layouts(
    connection: duckdb.DuckDBPyConnection, present: Sequence[tuple[str, str]]
) -> dict[str, _Layout]:
    """The :class:`_Layout` of each ``(schema, table)``, from two catalog queries for all."""
    names = [f"{schema}.{table}" for schema, table in present]
    comments: dict[str, list[tuple]] = {name: [] for name in names}
    columns: dict[str, list[tuple]] = {name: [] for name in names}
    for name, comment in connection.execute(
        "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary "
        "AND schema_name || '.' || table_name IN (SELECT unnest($names))",
        {"names": names},
    ).fetchall():
        comments[name].append((comment,))
    for name, column, data_type, comment in connection.execute(
        "SELECT schema_name || '.' || table_name, column_name, data_type, comment "
        "FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name || '.' || table_name IN (SELECT unnest($names)) "
        "ORDER BY schema_name, table_name, column_index",
        {"names": names},
    ).fetchall():
        columns[name].append((column, data_type, comment))
    return {name: _Layout(name, comments[name], columns[name]) for name in names}


@dataclass(frozen=True)
class _Fingerprint:
    """What the snapshot's copy of a table must match to be kept (``text``, recorded in the
    snapshot's info table), and the table's row count."""

    rows: int
    text: str


def _fingerprint(connection: duckdb.DuckDBPyConnection, layout: _Layout) -> _Fingerprint:
    """A table's rows (count and the order-insensitive sum of each row's hash) and its
    columns, types and comments, as a :class:`_Fingerprint`."""
    rows, row_hashes = connection.execute(
        f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {qualified(layout.name)} t"
    ).fetchall()[0]
    described = repr((layout.columns, layout.comment)).encode()
    text = f"{rows}:{row_hashes}:{hashlib.sha256(described).hexdigest()[:16]}"
    return _Fingerprint(int(rows), text)


def _copy_comments(connection: duckdb.DuckDBPyConnection, layout: _Layout, target: str) -> None:
    """Carry COMMENT ON text over, so BI tools show what each table and column means."""
    statements = [
        f"COMMENT ON COLUMN {target}.{quote_identifier(column)} IS {quote_literal(comment)}"
        for column, _, comment in layout.columns
        if comment is not None
    ]
    if layout.comment and layout.comment[0][0]:
        statements.insert(0, f"COMMENT ON TABLE {target} IS {quote_literal(layout.comment[0][0])}")
    execute_together(connection, statements)
