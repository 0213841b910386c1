"""Faults: a refresh killed (SIGKILL) while it ingests, while it rebuilds staging and while it
publishes the BI snapshot; a warehouse lock held by another process for a while, and for
too long. After each kill the warehouse opens, no table is half-written, the ledger records
no file whose rows are missing, the previous snapshot is whole, and the next run gives what
an uninterrupted run gives."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.demo import write_demo_data
from pipeline.publish import publish_snapshot
from resources.warehouse import WarehouseLockedError
from tests.reliability.conftest import (
    BASE_FILE,
    assert_raw_invariants,
    assert_staging_accounts,
    fingerprint,
    ingest,
    loaded_state,
    rows,
    stage,
    warehouse,
    write_base,
)
from tests.test_publish import _reader, _refill

BIG_FILE = "online_retail_demo.csv"
BIG_ROWS = 1_000_000
STAGING_TABLES = ("staging.transactions", "staging.returns", "staging.excluded")


@pytest.fixture(scope="module")
def big_landing(tmp_path_factory) -> Path:
    """A landing folder with the good base file and ~1M generated rows (85 MB of CSV)."""
    root = tmp_path_factory.mktemp("big")
    landing = root / "landing"
    write_demo_data(landing_dir=landing, truth_dir=root / "demo", n_rows=BIG_ROWS, seed=11)
    write_base(landing)
    return landing


@pytest.fixture(scope="module")
def uninterrupted(big_landing, tmp_path_factory) -> dict:
    """What one uninterrupted run makes of the same files."""
    with warehouse(tmp_path_factory.mktemp("clean") / "warehouse.duckdb").writer() as connection:
        ingest(connection, big_landing)
        stage(connection)
        return fingerprint(connection)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _staging_counts(connection) -> dict[str, int]:
    return {t: rows(connection, f"SELECT count(*) FROM {t}")[0][0] for t in STAGING_TABLES}


def test_kills_during_ingest_and_cleaning_lose_nothing(
    big_landing, uninterrupted, tmp_path, workers
):
    landing = tmp_path / "landing"
    landing.mkdir()
    _link(big_landing / BASE_FILE, landing / BASE_FILE)
    database = tmp_path / "warehouse.duckdb"
    resource = warehouse(database)
    with resource.writer() as connection:
        ingest(connection, landing)
        stage(connection)
        before = loaded_state(connection, [BASE_FILE])
        staged_before = _staging_counts(connection)
    _link(big_landing / BIG_FILE, landing / BIG_FILE)

    def after_kill(worker, must_not_have_reached: str) -> None:
        worker.kill()
        assert worker.process.returncode == -9
        assert not any(line.startswith(must_not_have_reached) for line in worker.lines), (
            f"the kill came too late: {worker.lines}"
        )
        with resource.writer() as connection:  # the warehouse opens (DuckDB replays its WAL)
            assert_raw_invariants(connection)
            assert loaded_state(connection, [BASE_FILE]) == before
            assert rows(
                connection,
                "SELECT count(*) FROM raw.file_ledger WHERE file_path = $f",
                {"f": BIG_FILE},
            ) == [(0,)]
            assert rows(
                connection,
                "SELECT count(*) FROM raw.transactions WHERE source_file = $f",
                {"f": BIG_FILE},
            ) == [(0,)]
            assert _staging_counts(connection) == staged_before
            assert_staging_accounts(connection)

    # 1. Killed while DuckDB reads the 85 MB file into the file's transaction (on a fast
    #    machine the kill may land in the insert instead: still before the commit).
    worker = workers("ingest", str(database), str(landing))
    worker.expect(f"STAGING {BIG_FILE}")
    time.sleep(0.3)
    after_kill(worker, "DONE")

    # 2. Killed after the typed rows are in raw.transactions but before the file's commit
    #    (DuckDB writes large inserts to the database file before the commit).
    worker = workers("ingest", str(database), str(landing), "--pause-after-load")
    worker.expect(f"PAUSED {BIG_FILE}", timeout=120)
    after_kill(worker, "DONE")

    # 3. The next run loads the file completely.
    with resource.writer() as connection:
        report = {f.file_path: f.status for f in ingest(connection, landing).files}
        assert report == {BASE_FILE: "unchanged", BIG_FILE: "loaded"}
        assert_raw_invariants(connection)

    # 4. Killed while build_staging replaces the three staging tables: they stay the
    #    previous generation, all three of them.
    worker = workers("stage", str(database), "--pause-before-commit")
    worker.expect("PAUSED", timeout=120)
    worker.kill()
    assert not any(line.startswith("DONE") for line in worker.lines), worker.lines
    with resource.writer() as connection:
        assert _staging_counts(connection) == staged_before
        assert_raw_invariants(connection)

    # 5. The next run completes, with the results of an uninterrupted run.
    with resource.writer() as connection:
        stage(connection)
        assert_staging_accounts(connection)
        assert fingerprint(connection) == uninterrupted


def _snapshot_state(path: Path) -> tuple[set[str], dict[str, int], int, int]:
    with duckdb.connect(str(path), read_only=True) as reader:
        run_ids = {r[0] for r in rows(reader, "SELECT run_id FROM snapshot_info")}
        declared = dict(rows(reader, "SELECT table_name, row_count FROM snapshot_info"))
        customers = rows(reader, "SELECT count(*) FROM marts.customer_segments")[0][0]
        scores = rows(reader, "SELECT count(*) FROM scores.propensity")[0][0]
    return run_ids, declared, customers, scores


def test_a_publish_killed_mid_copy_keeps_the_previous_snapshot(tmp_path, workers):
    """Readers in other processes keep reading whole snapshots throughout (the readers of
    tests/test_publish.py, reused)."""
    database = tmp_path / "warehouse.duckdb"
    snapshot = tmp_path / "bi" / "customer_intel.duckdb"
    building = snapshot.with_name(snapshot.name + ".building")
    with duckdb.connect(str(database)) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute("CREATE SCHEMA marts; CREATE SCHEMA scores")
        _refill(connection, 1000)
        publish_snapshot(connection, snapshot, run_id="previous")
        # The next refresh: bigger tables, and a wide one that takes a while to copy.
        _refill(connection, 1500)
        connection.execute(
            "CREATE TABLE marts.segment_summary AS SELECT range AS id, md5(range::VARCHAR) AS a, "
            "md5((range + 1)::VARCHAR) AS b FROM range(2000000)"
        )
    previous = _snapshot_state(snapshot)
    assert previous[0] == {"previous"} and previous[2] == previous[3] == 1000

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    readers = [
        context.Process(target=_reader, args=(str(snapshot), 8.0, results)) for _ in range(2)
    ]
    for process in readers:
        process.start()
    try:
        worker = workers("publish", str(database), str(snapshot), "killed")
        worker.expect("PUBLISHING")
        deadline = time.monotonic() + 60
        while not (building.exists() and building.stat().st_size > 15_000_000):
            assert time.monotonic() < deadline and worker.process.poll() is None, worker.lines
            time.sleep(0.01)
        worker.kill()
        assert not any(line.startswith("DONE") for line in worker.lines), worker.lines
        assert _snapshot_state(snapshot) == previous  # untouched, and it opens

        # The next publish completes and cleans up what the killed one left.
        with warehouse(database).writer() as connection:
            published = publish_snapshot(connection, snapshot, run_id="next")
        assert published.tables["marts.segment_summary"] == 2_000_000
        run_ids, declared, customers, scores = _snapshot_state(snapshot)
        assert run_ids == {"next"} and customers == scores == declared["scores.propensity"] == 1500
        assert not list(snapshot.parent.glob("*.building*"))
        messages = []
        while sum(m[0] == "done" for m in messages) < len(readers):
            messages.append(results.get(timeout=60))
    finally:
        for process in readers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert not [m for m in messages if m[0] == "error"], messages
    summaries = [m for m in messages if m[0] == "done"]
    assert all(reads > 0 and failed == 0 and bad == 0 for _, reads, failed, bad in summaries), (
        summaries
    )


@pytest.mark.parametrize("mode", ["writer", "reader"])
def test_a_transient_lock_is_waited_for(tmp_path, workers, caplog, mode):
    """Another process holds the writer lock for ~2.5 s: the writer (or a read-only check)
    waits with backoff, logs who holds the lock, and then succeeds."""
    database = tmp_path / "warehouse.duckdb"
    holder = workers("hold", str(database), "2.5")
    holder.expect("LOCKED", timeout=30)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="resources.warehouse"):
        resource = warehouse(database, lock_timeout_s=30)
        with getattr(resource, mode)() as connection:
            assert rows(connection, "SELECT count(*) FROM held_by") == [(1,)]
    waited = time.monotonic() - started
    assert 1.0 < waited < 15, waited
    assert holder.process.wait(timeout=30) == 0  # it released the lock; we got in after
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries, caplog.text
    assert f"is locked by process {holder.pid} (" in retries[0]
    assert str(database) in retries[0]


def test_a_lock_held_too_long_fails_naming_the_holder(tmp_path, workers):
    database = tmp_path / "warehouse.duckdb"
    holder = workers("hold", str(database), "120")
    holder.expect("LOCKED", timeout=30)
    started = time.monotonic()
    with pytest.raises(WarehouseLockedError) as raised:
        with warehouse(database, lock_timeout_s=1.5).writer():
            pass
    assert 1.4 < time.monotonic() - started < 5
    message = str(raised.value)
    assert raised.value.holder_pid == holder.pid
    assert f"is still locked by process {holder.pid} (" in message
    assert f"(PID {holder.pid})" in message  # DuckDB's own words are kept
    assert "lock timeout 1.5 s" in message and str(database) in message
