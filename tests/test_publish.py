"""The BI snapshot: atomic replacement, consistency for readers in other processes."""

from __future__ import annotations

import multiprocessing
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.publish import publish_snapshot


def _warehouse(path: Path, rows: int) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS scores;"
        "CREATE SCHEMA IF NOT EXISTS raw;"
        "CREATE OR REPLACE TABLE raw.transactions AS SELECT 1 AS secret"
    )
    _refill(connection, rows)
    return connection


def _refill(connection: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Two tables whose sizes agree within one refresh (customers = scores)."""
    connection.execute(
        "CREATE OR REPLACE TABLE marts.customer_segments AS "
        "SELECT range AS customer_id, 'x' AS segment FROM range($n)",
        {"n": rows},
    )
    connection.execute(
        "CREATE OR REPLACE TABLE scores.propensity AS "
        "SELECT range AS customer_id, 0.5 AS probability FROM range($n)",
        {"n": rows},
    )


def test_publish_copies_the_published_contracts_with_comments(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 10)
    # A table no contract declares is not published, even in a published schema.
    connection.execute("CREATE TABLE marts.scratch AS SELECT 1 AS x")
    connection.execute("COMMENT ON TABLE marts.customer_segments IS 'One row per customer'")
    connection.execute("COMMENT ON COLUMN marts.customer_segments.segment IS 'It''s the segment'")
    published = publish_snapshot(connection, tmp_path / "bi" / "snap.duckdb", run_id="run-1")
    assert published.tables == {"marts.customer_segments": 10, "scores.propensity": 10}
    with duckdb.connect(str(published.path), read_only=True) as reader:
        schemas = {
            r[0] for r in reader.execute("SELECT schema_name FROM duckdb_tables()").fetchall()
        }
        assert "raw" not in schemas
        assert reader.execute(
            "SELECT comment FROM duckdb_columns() WHERE column_name = 'segment'"
        ).fetchall() == [("It's the segment",)]
        assert reader.execute("SELECT DISTINCT run_id FROM snapshot_info").fetchall() == [
            ("run-1",)
        ]
    assert not list((tmp_path / "bi").glob("*.building*"))


def test_failed_publish_keeps_the_previous_snapshot(tmp_path, monkeypatch):
    connection = _warehouse(tmp_path / "w.duckdb", 10)
    snapshot = tmp_path / "bi" / "snap.duckdb"
    publish_snapshot(connection, snapshot, run_id="good")
    _refill(connection, 20)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pipeline.publish._fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        publish_snapshot(connection, snapshot, run_id="bad")
    with duckdb.connect(str(snapshot), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM marts.customer_segments").fetchall() == [(10,)]
    monkeypatch.undo()
    publish_snapshot(connection, snapshot, run_id="next")  # the leftover is cleaned up
    assert not list((tmp_path / "bi").glob("*.building*"))


def _reader(path: str, seconds: float, results) -> None:
    """Open the snapshot read-only again and again; every view must be one refresh."""
    reads = errors = inconsistent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with duckdb.connect(path, read_only=True) as connection:
                expected = dict(
                    connection.execute("SELECT table_name, row_count FROM snapshot_info").fetchall()
                )
                customers = connection.execute(
                    "SELECT count(*) FROM marts.customer_segments"
                ).fetchall()[0][0]
                scores = connection.execute("SELECT count(*) FROM scores.propensity").fetchall()[0][
                    0
                ]
            reads += 1
            if not (customers == scores == expected["marts.customer_segments"]):
                inconsistent += 1
        except duckdb.Error as error:
            errors += 1
            results.put(("error", str(error)))
    results.put(("done", reads, errors, inconsistent))


def test_readers_in_other_processes_see_whole_refreshes_and_never_block(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 1000)
    snapshot = tmp_path / "bi" / "snap.duckdb"
    publish_snapshot(connection, snapshot)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    readers = [
        context.Process(target=_reader, args=(str(snapshot), 6.0, results)) for _ in range(3)
    ]
    for process in readers:
        process.start()
    time.sleep(1.5)  # let the readers start (spawned interpreters import duckdb)
    publishes = 0
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        _refill(connection, 1000 + 137 * (publishes + 1))
        publish_snapshot(connection, snapshot, run_id=str(publishes))
        publishes += 1
    summaries = []
    for _ in readers:
        message = results.get(timeout=60)
        while message[0] == "error":
            pytest.fail(f"reader error: {message[1]}")
        summaries.append(message)
    for process in readers:
        process.join(timeout=30)
    assert publishes >= 3
    assert all(reads > 0 and errors == 0 and bad == 0 for _, reads, errors, bad in summaries), (
        summaries
    )


def _published(path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as reader:
        return reader.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_a_table_unchanged_since_the_last_publish_is_kept_and_a_changed_one_copied(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 10)
    snapshot = tmp_path / "bi" / "snap.duckdb"
    first = publish_snapshot(connection, snapshot, run_id="one")
    assert first.reused == ()
    # Same row count, one value changed: the fingerprint must see it.
    connection.execute("UPDATE scores.propensity SET probability = 0.2 WHERE customer_id = 3")
    second = publish_snapshot(connection, snapshot, run_id="two")
    assert second.reused == ("marts.customer_segments",)
    assert (3, Decimal("0.2")) in _published(snapshot, "scores.propensity")
    assert (
        _published(snapshot, "marts.customer_segments")
        == connection.execute("SELECT * FROM marts.customer_segments ORDER BY ALL").fetchall()
    )
    # A new comment is part of what a table is: copied again, with it.
    connection.execute("COMMENT ON COLUMN marts.customer_segments.segment IS 'the segment'")
    third = publish_snapshot(connection, snapshot, run_id="three")
    assert "marts.customer_segments" not in third.reused
    with duckdb.connect(str(snapshot), read_only=True) as reader:
        assert reader.execute(
            "SELECT comment FROM duckdb_columns() WHERE column_name = 'segment'"
        ).fetchall() == [("the segment",)]
        assert reader.execute("SELECT DISTINCT run_id FROM snapshot_info").fetchall() == [
            ("three",)
        ]
    # A table the warehouse no longer has leaves the snapshot.
    connection.execute("DROP TABLE scores.propensity")
    fourth = publish_snapshot(connection, snapshot, run_id="four")
    assert set(fourth.tables) == {"marts.customer_segments"}
    with duckdb.connect(str(snapshot), read_only=True) as reader:
        assert not reader.execute(
            "SELECT * FROM duckdb_tables() WHERE table_name = 'propensity'"
        ).fetchall()


def test_publishing_changed_tables_again_and_again_does_not_grow_the_file(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 200_000)
    snapshot = tmp_path / "bi" / "snap.duckdb"
    sizes = []
    for run in range(6):
        connection.execute(
            "CREATE OR REPLACE TABLE scores.propensity AS SELECT range AS customer_id, "
            "random() AS probability FROM range(200000)"
        )
        published = publish_snapshot(connection, snapshot, run_id=str(run))
        assert published.reused == (("marts.customer_segments",) if run else ())
        sizes.append(published.size_bytes)
    assert max(sizes[2:]) <= 1.5 * sizes[1], sizes


def test_a_snapshot_without_fingerprints_is_replaced_whole(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 10)
    snapshot = tmp_path / "bi" / "snap.duckdb"
    snapshot.parent.mkdir()
    with duckdb.connect(str(snapshot)) as old:  # the layout of an earlier version
        old.execute("CREATE TABLE snapshot_info AS SELECT 'marts.customer_segments' AS table_name")
        old.execute("CREATE SCHEMA marts")
        old.execute("CREATE TABLE marts.customer_segments AS SELECT 'stale' AS customer_id")
    published = publish_snapshot(connection, snapshot, run_id="new")
    assert published.reused == ()
    assert len(_published(snapshot, "marts.customer_segments")) == 10


def _snapshot_contents(path: Path) -> dict:
    """Every published table's rows, columns and comments (snapshot_info left out: it
    records when and by which run)."""
    with duckdb.connect(str(path), read_only=True) as reader:
        tables = reader.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() "
            "WHERE table_name <> 'snapshot_info' ORDER BY ALL"
        ).fetchall()
        return {
            (schema, table): (
                comment,
                reader.execute(
                    "SELECT column_name, data_type, comment FROM duckdb_columns() "
                    "WHERE schema_name = $s AND table_name = $t ORDER BY column_index",
                    {"s": schema, "t": table},
                ).fetchall(),
                reader.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall(),
            )
            for schema, table, comment in tables
        }


def test_a_snapshot_updated_in_place_equals_one_published_from_scratch(tmp_path):
    connection = _warehouse(tmp_path / "w.duckdb", 50)
    connection.execute("COMMENT ON TABLE scores.propensity IS 'Scores'")
    connection.execute("COMMENT ON COLUMN scores.propensity.probability IS 'P(buy)'")
    kept = tmp_path / "bi" / "kept.duckdb"
    publish_snapshot(connection, kept, run_id="one")
    # The next refresh: one table rewritten with other rows and a new comment, one unchanged.
    _refill(connection, 40)
    connection.execute("UPDATE marts.customer_segments SET segment = 'y' WHERE customer_id < 5")
    connection.execute("COMMENT ON COLUMN marts.customer_segments.segment IS 'the segment'")
    updated = publish_snapshot(connection, kept, run_id="two")
    connection.execute("CREATE OR REPLACE TABLE scores.propensity AS SELECT 1 AS customer_id")
    third = publish_snapshot(connection, kept, run_id="three")
    assert third.reused == ("marts.customer_segments",) and updated.reused == ()
    scratch = publish_snapshot(connection, tmp_path / "bi" / "scratch.duckdb", run_id="three")
    assert scratch.reused == () and scratch.tables == third.tables
    assert _snapshot_contents(kept) == _snapshot_contents(scratch.path)
    with duckdb.connect(str(kept), read_only=True) as reader:
        info = reader.execute(
            "SELECT table_name, row_count FROM snapshot_info ORDER BY ALL"
        ).fetchall()
    assert info == sorted(third.tables.items())
