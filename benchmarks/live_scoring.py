"""Live scoring benchmark: 10,000 new customers through the `score_new_customers` job.

    python benchmarks/live_scoring.py                      # on the 1M refresh (make bench)
    python benchmarks/live_scoring.py --customers 10000 --repeat 3 --shapes rfm transactions

Needs a refreshed warehouse with champion models: the state refresh.py keeps in
BENCH_DATA_DIR/refresh-<rows>/ (run here first when it is missing). For each input shape the
script writes one file of new customers (not timed):

* ``rfm``: ``customer_id, recency_days, frequency, monetary, tenure_days`` rows copied from
  features.customer_rfm (drawn with replacement) under new customer ids;
* ``transactions``: UCI-layout lines of the first two invoices of history customers (drawn
  with replacement), under new customer ids and invoice numbers, moved so that each new
  customer's last purchase falls 1-60 days before the snapshot.

Then, ``--repeat`` times, it drops one file (a new name each time, so nothing is already
logged; earlier files are moved out) into DATA_DIR/landing/new_customers/ and launches the
job the sensor launches, in a new process as the daemon's run launcher does:
``dagster job execute -m orchestration.definitions -j score_new_customers``. Measured: launch to
exit (the rows are committed to marts.prediction_log before the process ends; the script
checks that every customer was logged), the Dagster run's duration, the scoring function's
own time (``scoring_seconds`` in the asset's metadata) and its throughput in customers per
second, and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    fmt_bytes,
    fmt_count,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
    run_child,
)
from engine import ensure_data  # noqa: E402
from refresh import (  # noqa: E402
    pipeline_env,
    prepare_state,
    read_runs,
    run_refresh,
    state_dir,
)

JOB = "score_new_customers"
LOG_ASSET = "marts/prediction_log"
SHAPES = ("rfm", "transactions")


def ensure_refreshed(data_dir: Path, rows: int, timeout: float) -> Path:
    """refresh.py's kept state for ``rows``, refreshed here when it has no successful run."""
    folder = state_dir(data_dir, rows)
    home = folder / "home"
    if (folder / "data" / "warehouse.duckdb").exists() and (home / "dagster.yaml").exists():
        if any(r.status == "SUCCESS" for r in read_runs(home, "refresh")):
            return folder
    log(f"no refreshed state in {folder}: running the refresh job on {rows:,} rows first")
    csv, _ = ensure_data(data_dir, rows, timeout)
    prepare_state(folder, csv)
    measured = run_refresh(folder, "setup", timeout=timeout, memory_limit=None)
    if not measured.ok:
        raise SystemExit(f"refresh failed: {measured.outcome}")
    return folder


def _landing_csv(folder: Path) -> Path:
    files = sorted((folder / "data" / "landing").glob("*.csv"))
    if not files:
        raise SystemExit(f"no landing CSV in {folder / 'data' / 'landing'}")
    return max(files, key=lambda p: p.stat().st_size)  # the history, not a nightly file


def write_inputs(folder: Path, customers: int) -> dict[str, dict]:
    """The two input files (rfm, transactions) for ``customers`` new customers."""
    import duckdb

    out = folder / "bench_inputs"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    warehouse = duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True)
    (last_ts,) = warehouse.execute("SELECT max(invoice_ts) FROM staging.transactions").fetchone()
    rfm = warehouse.execute(
        """
        WITH pool AS (
            SELECT recency_days, frequency, monetary, tenure_days,
                   row_number() OVER (ORDER BY customer_id) - 1 AS i,
                   count(*) OVER () AS n
            FROM features.customer_rfm
        )
        SELECT 'N' || lpad(CAST(r.range AS VARCHAR), 6, '0') AS customer_id,
               recency_days, frequency, round(monetary, 2) AS monetary, tenure_days
        FROM range($customers) r JOIN pool ON pool.i = (r.range * 7919) % pool.n
        ORDER BY r.range
        """,
        {"customers": customers},
    ).df()
    warehouse.close()
    rfm_path = out / "rfm.csv"
    rfm.to_csv(rfm_path, index=False)

    snapshot_day = last_ts.date()  # features are as of the day after the last purchase
    transactions_path = out / "transactions.csv"
    memory = duckdb.connect()
    memory.execute(
        """
        CREATE TEMP TABLE history AS
        SELECT InvoiceNo, StockCode, Description, Quantity,
               strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS ts, UnitPrice, CustomerID, Country
        FROM read_csv($csv, all_varchar = true, header = true)
        WHERE CustomerID IS NOT NULL
        """,
        {"csv": str(_landing_csv(folder))},
    )
    memory.execute(
        """
        CREATE TEMP TABLE first_orders AS
        WITH invoices AS (
            SELECT CustomerID, InvoiceNo, min(ts) AS invoice_ts FROM history
            WHERE NOT starts_with(InvoiceNo, 'C') GROUP BY ALL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY CustomerID ORDER BY invoice_ts, InvoiceNo)
                AS nth
            FROM invoices
        )
        SELECT h.* FROM history h JOIN ranked USING (CustomerID, InvoiceNo) WHERE nth <= 2
        """
    )
    memory.execute(
        """
        COPY (
            WITH pool AS (
                SELECT CustomerID, max(ts) AS last_ts,
                       dense_rank() OVER (ORDER BY CustomerID) - 1 AS i
                FROM first_orders GROUP BY CustomerID
            ), size AS (SELECT count(*) AS n FROM pool),
            new_customers AS (
                SELECT r.range AS k, pool.CustomerID, pool.last_ts,
                       CAST($snapshot_day AS DATE) - CAST(1 + r.range % 60 AS INTEGER)
                           - CAST(pool.last_ts AS DATE) AS shift_days
                FROM range($customers) r, size JOIN pool ON pool.i = (r.range * 7919) % size.n
            )
            SELECT f.InvoiceNo || '-' || CAST(c.k AS VARCHAR) AS InvoiceNo, f.StockCode,
                   f.Description, f.Quantity,
                   strftime(f.ts + to_days(CAST(c.shift_days AS INTEGER)), '%Y-%m-%d %H:%M:%S')
                       AS InvoiceDate,
                   f.UnitPrice, CAST(900000 + c.k AS VARCHAR) AS CustomerID, f.Country
            FROM new_customers c JOIN first_orders f USING (CustomerID)
            ORDER BY c.k, f.ts, f.InvoiceNo
        ) TO '{path}' (HEADER, DELIMITER ',')
        """.replace("{path}", str(transactions_path)),
        {"customers": customers, "snapshot_day": snapshot_day},
    )
    (lines,) = memory.execute(
        "SELECT count(*) FROM read_csv($p, all_varchar = true)", {"p": str(transactions_path)}
    ).fetchone()
    memory.close()
    return {
        "rfm": {"path": rfm_path, "rows": len(rfm), "customers": customers},
        "transactions": {"path": transactions_path, "rows": lines, "customers": customers},
    }


def logged_rows(folder: Path, source: str) -> int:
    import duckdb

    connection = duckdb.connect(str(folder / "data" / "warehouse.duckdb"), read_only=True)
    try:
        (count,) = connection.execute(
            "SELECT count(*) FROM marts.prediction_log WHERE source = $s", {"s": source}
        ).fetchone()
    finally:
        connection.close()
    return int(count)


def run_job(folder: Path, file: Path, name: str, timeout: float) -> dict:
    """Drop ``file`` into new_customers/ as ``name`` and launch the scoring job, measured."""
    inbox = folder / "data" / "landing" / "new_customers"
    done = folder / "bench_inputs" / "done"
    inbox.mkdir(parents=True, exist_ok=True)
    done.mkdir(parents=True, exist_ok=True)
    for old in inbox.iterdir():  # one new file per tick, as the sensor sees it
        old.rename(done / old.name)
    shutil.copy2(file, inbox / name)
    runs_before = {r.run_id for r in read_runs(folder / "home", JOB)}
    child = run_child(
        [Path(sys.executable).parent / "dagster", "job", "execute"]
        + ["-m", "orchestration.definitions", "-j", JOB],
        timeout=timeout,
        env=pipeline_env(folder),
        cwd=PROJECT_ROOT,
        sample_tree=True,
    )
    (folder / f"score-{name}.stderr.txt").write_text(child.stderr)
    runs = [r for r in read_runs(folder / "home", JOB) if r.run_id not in runs_before]
    run = runs[0] if runs else None
    metadata = run.metadata.get(LOG_ASSET, {}) if run else {}
    return {
        "file": name,
        "ok": child.returncode == 0 and run is not None and run.status == "SUCCESS",
        "outcome": child.failure() if child.returncode != 0 else (run.status if run else "?"),
        "wall_seconds": child.wall_seconds,
        "run_seconds": run.run_seconds if run else None,
        "step_seconds": run.steps.get("prediction_log") if run else None,
        "scoring_seconds": metadata.get("scoring_seconds"),
        "scored": metadata.get("customers_scored_this_run"),
        "logged": logged_rows(folder, name),
        "max_rss_bytes": child.max_rss_bytes,
        "tree_peak_rss_bytes": child.tree_peak_rss_bytes,
    }


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="size of the refreshed state")
    parser.add_argument("--customers", type=int, default=10_000, help="new customers per file")
    parser.add_argument("--repeat", type=int, default=3, help="jobs per shape")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    info = machine_info()
    print_machine(info)
    folder = ensure_refreshed(args.data_dir, args.rows, args.timeout)
    inputs = write_inputs(folder, args.customers)
    print(
        f"\n## Live scoring: {args.customers:,} new customers per file, on the warehouse and "
        f"champion models of the {args.rows:,}-row refresh ({folder})\n"
    )
    for shape in args.shapes:
        item = inputs[shape]
        size = item["path"].stat().st_size / 1e6
        print(f"- {shape}: {item['rows']:,} rows, {size:.1f} MB ({item['path']})")
    results: dict[str, list[dict]] = {shape: [] for shape in args.shapes}
    for repetition in range(1, args.repeat + 1):
        for shape in args.shapes:  # interleaved
            name = f"bench_{shape}_{repetition}.csv"
            result = run_job(folder, inputs[shape]["path"], name, args.timeout)
            results[shape].append(result)
            log(
                f"  {shape} #{repetition}: {result['outcome']}; job {result['wall_seconds']:.1f} s"
                f", run {fmt_seconds(result['run_seconds'])} s, scoring "
                f"{result['scoring_seconds']} s, {result['logged']:,} rows logged"
            )
    rows = []
    for shape, items in results.items():
        ok = [r for r in items if r["ok"]]
        walls = [r["wall_seconds"] for r in ok]
        scoring = _median([r["scoring_seconds"] for r in ok])
        logged = {r["logged"] for r in items}
        rows.append(
            [
                shape,
                fmt_count(inputs[shape]["customers"]),
                fmt_count(inputs[shape]["rows"]),
                fmt_seconds(_median(walls)),
                f"{min(walls):.1f}-{max(walls):.1f}" if len(walls) > 1 else "-",
                fmt_seconds(_median([r["run_seconds"] for r in ok])),
                fmt_seconds(_median([r["step_seconds"] for r in ok])),
                fmt_seconds(scoring),
                f"{inputs[shape]['customers'] / scoring:,.0f}" if scoring else "-",
                fmt_bytes(max((r["tree_peak_rss_bytes"] or 0) for r in items) or None),
                "/".join(fmt_count(n) for n in sorted(logged)),
                f"{len(ok)}/{len(items)}",
            ]
        )
    print(f"\n### `{JOB}` job (median of {args.repeat})\n")
    print(
        markdown_table(
            [
                "input",
                "customers",
                "rows",
                "launch to logged s",
                "min-max s",
                "Dagster run s",
                "prediction_log step s",
                "scoring s",
                "customers/s (scoring)",
                "peak RSS (tree)",
                "rows logged per run",
                "runs ok",
            ],
            rows,
        )
    )
    print(
        "\nlaunch to logged: `dagster job execute` process start to exit (imports and loading "
        "the code location included, as in a run the sensor starts); scoring: the scoring "
        "function's own time (`scoring_seconds` in the asset's metadata: reading the inputs, "
        "features, loading the champions from MLflow, predicting, appending to the log)"
    )
    if args.json:
        payload = {
            "machine": info,
            "inputs": {k: {**v, "path": str(v["path"])} for k, v in inputs.items()},
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"\nfigures written to {args.json}")
    return 0 if all(r["ok"] for items in results.values() for r in items) else 1


if __name__ == "__main__":
    raise SystemExit(main())
