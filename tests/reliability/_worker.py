"""Subprocess entry points for the fault and concurrency tests.

    python -m tests.reliability._worker ingest WAREHOUSE LANDING [--go FILE]
    python -m tests.reliability._worker stage WAREHOUSE
    python -m tests.reliability._worker publish WAREHOUSE SNAPSHOT RUN_ID
    python -m tests.reliability._worker hold WAREHOUSE SECONDS

Each opens the warehouse the way the assets do (DuckDBWarehouse.writer(): lock retry with
backoff) and prints marker lines on stdout (flushed) so the test knows which phase the process
is in when it kills it: STAGING <file> (inside the file's transaction, reading the file),
LOADING <file> (inside the transaction, inserting typed rows), LOADED <file>, PAUSED <file>
(with --pause-after-load: rows inserted, transaction not committed), BUILDING (inside
build_staging's transaction; with --pause-before-commit it then says PAUSED and waits before
the commit), PUBLISHING, LOCKED <pid>, and DONE <json> at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

LATEST_VALID_TS = dt.datetime(2030, 1, 1)


def say(*parts: object) -> None:
    print(*parts, flush=True)


class PausedBeforeCommit:
    """A connection whose COMMIT never comes: it says PAUSED and waits to be killed, so a
    test kills inside the transaction however fast the machine is."""

    def __init__(self, connection):
        self._connection = connection

    def execute(self, sql, *args, **kwargs):
        if isinstance(sql, str) and sql.strip().upper() == "COMMIT":
            say("PAUSED")
            time.sleep(3600)
        return self._connection.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._connection, name)


def _warehouse(path: str, lock_timeout_s: float = 120.0):
    from resources.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(path=path, lock_timeout_s=lock_timeout_s, threads=2)


def ingest(args: argparse.Namespace) -> None:
    import pipeline.ingest.loading as ingestion

    original_stage, original_load = ingestion.stage_parts, ingestion._load_part

    def stage_parts(connection, path, display_name, *rest):
        say("STAGING", display_name)
        yield from original_stage(connection, path, display_name, *rest)

    def load_part(connection, part, display_name, *rest):
        say("LOADING", display_name)
        result = original_load(connection, part, display_name, *rest)
        say("LOADED", display_name)
        if args.pause_after_load:
            # The rows are inserted but the file's transaction is not committed: wait here
            # to be killed, so the test does not depend on how fast the machine is.
            say("PAUSED", display_name)
            time.sleep(3600)
        return result

    ingestion.stage_parts, ingestion._load_part = stage_parts, load_part
    if args.go:
        go = Path(args.go)
        say("READY", os.getpid())
        while not go.exists():
            time.sleep(0.005)
    with _warehouse(args.warehouse).writer() as connection:
        connection.execute("SET enable_progress_bar = false")
        say("CONNECTED", os.getpid())
        report = ingestion.ingest_landing(
            connection, Path(args.landing), Path(args.landing).parent / "no_mappings.yaml"
        )
    say("DONE", json.dumps({f.file_path: [f.status, f.rows_loaded] for f in report.files}))


def stage(args: argparse.Namespace) -> None:
    from pipeline.cleaning import build_staging

    with _warehouse(args.warehouse).writer() as connection:
        connection.execute("SET enable_progress_bar = false")
        if args.pause_before_commit:
            connection = PausedBeforeCommit(connection)
        say("BUILDING")
        counts = build_staging(
            connection, non_product_codes=("POST",), latest_valid_ts=LATEST_VALID_TS
        )
    say("DONE", json.dumps([counts.transactions, counts.returns, counts.excluded]))


def publish(args: argparse.Namespace) -> None:
    from pipeline.publish import publish_snapshot

    with _warehouse(args.warehouse).writer() as connection:
        connection.execute("SET enable_progress_bar = false")
        say("PUBLISHING")
        published = publish_snapshot(connection, Path(args.snapshot), run_id=args.run_id)
    say("DONE", json.dumps(published.tables))


def hold(args: argparse.Namespace) -> None:
    """Hold the writer lock for a while, as a long step of another run would."""
    import duckdb

    connection = duckdb.connect(args.warehouse)
    connection.execute("CREATE TABLE IF NOT EXISTS held_by AS SELECT 1 AS pid")
    say("LOCKED", os.getpid())
    time.sleep(float(args.seconds))
    connection.close()
    say("RELEASED")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("ingest")
    p.add_argument("warehouse")
    p.add_argument("landing")
    p.add_argument("--go")
    p.add_argument("--pause-after-load", action="store_true")
    p = commands.add_parser("stage")
    p.add_argument("warehouse")
    p.add_argument("--pause-before-commit", action="store_true")
    p = commands.add_parser("publish")
    p.add_argument("warehouse")
    p.add_argument("snapshot")
    p.add_argument("run_id")
    p = commands.add_parser("hold")
    p.add_argument("warehouse")
    p.add_argument("seconds")
    args = parser.parse_args(argv)
    {"ingest": ingest, "stage": stage, "publish": publish, "hold": hold}[args.command](args)


if __name__ == "__main__":
    main()
