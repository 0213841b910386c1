"""Customer history benchmark: a backfill of monthly snapshots, their storage, the matrix.

    python benchmarks/history.py --data-dir DATA_DIR            # a refreshed DATA_DIR
    python benchmarks/history.py --data-dir DATA_DIR --start 2011-01-01 --count 12
    python benchmarks/history.py --data-dir DATA_DIR --start 2010-12-10 --every week --count 52

Needs a refreshed DATA_DIR with champion models (``customer-intel demo --rows 1000000``, or
the state refresh.py keeps in BENCH_DATA_DIR/refresh-<rows>/). Measured:

* the backfill as a user runs it, ``customer-intel history --from START --to END --every
  month`` in a new process (launch to exit: the snapshot runs, then the migration marts and
  the BI snapshot), and the snapshot step's own seconds per date from the run's metadata;
* storage: the history table copied alone into a new DuckDB file (compressed as DuckDB
  stores it), in bytes per customer per snapshot;
* the transition matrix between the oldest and the newest stored date, read from the
  published BI snapshot as the dashboard reads it (median of 5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    PROJECT_ROOT,
    fmt_bytes,
    fmt_count,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
)


def _backfill(data_dir: Path, start: dt.date, end: dt.date, every: str) -> float:
    """Seconds from launch to exit of ``customer-intel history`` over the dates."""
    environment = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    environment.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="history-bench-home-"))
    command = [sys.executable, "-m", "orchestration.cli", "history"]
    command += ["--from", start.isoformat(), "--to", end.isoformat(), "--every", every]
    log(" ".join(command))
    started = time.perf_counter()
    completed = subprocess.run(command, env=environment, cwd=PROJECT_ROOT, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the backfill failed (exit {completed.returncode})")
    return seconds


def _storage(warehouse: Path) -> tuple[int, int, int]:
    """(bytes of the history alone in a DuckDB file, rows, snapshot dates)."""
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        empty, alone = Path(folder) / "empty.duckdb", Path(folder) / "alone.duckdb"
        duckdb.connect(str(empty)).close()
        connection = duckdb.connect(str(alone))
        connection.execute("ATTACH $path AS source (READ_ONLY)", {"path": str(warehouse)})
        connection.execute(
            "CREATE TABLE customer_snapshots AS FROM source.history.customer_snapshots"
        )
        rows, dates = connection.execute(
            "SELECT count(*), count(DISTINCT snapshot_date) FROM customer_snapshots"
        ).fetchone()
        connection.execute("DETACH source")
        connection.execute("CHECKPOINT")
        connection.close()
        return alone.stat().st_size - empty.stat().st_size, rows, dates


def _matrix_seconds(snapshot: Path, repeat: int = 5) -> tuple[float, int, dt.date, dt.date]:
    import duckdb

    from pipeline.history import snapshot_dates, transition_matrix

    timings, rows = [], 0
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        dates = snapshot_dates(connection)
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(transition_matrix(connection, dates[0], dates[-1]))
            timings.append(time.perf_counter() - started)
    return statistics.median(timings), rows, dates[0], dates[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a refreshed DATA_DIR")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2011, 1, 1))
    parser.add_argument("--every", choices=["month", "week"], default="month")
    parser.add_argument("--count", type=int, default=12, help="snapshot dates to take")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_ROOT))
    from orchestration.history import backfill_dates

    span = dt.timedelta(days=(31 if args.every == "month" else 7) * args.count)
    end = backfill_dates(args.start, args.start + span, args.every)[args.count - 1]
    print_machine(machine_info())
    backfill = _backfill(args.data_dir, args.start, end, args.every)
    size, rows, dates = _storage(args.data_dir / "warehouse.duckdb")
    matrix, matrix_rows, first, last = _matrix_seconds(
        args.data_dir / "bi" / "customer_intel.duckdb"
    )
    print(
        markdown_table(
            ["measure", "figure"],
            [
                (
                    f"backfill of {args.count} snapshots every {args.every} (launch to exit)",
                    fmt_seconds(backfill),
                ),
                ("history rows stored", fmt_count(rows)),
                ("snapshot dates stored", fmt_count(dates)),
                ("history table alone in DuckDB", fmt_bytes(size)),
                ("bytes per customer per snapshot", f"{size / max(rows, 1):.1f}"),
                (f"transition matrix {first} -> {last} (median of 5)", fmt_seconds(matrix)),
                ("transition matrix rows (4 dimensions)", fmt_count(matrix_rows)),
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
