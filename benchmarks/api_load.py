"""HTTP API benchmark: customer lookups under load while a new snapshot is published, and
one POST /score of 1,000 RFM rows.

    python benchmarks/api_load.py                          # 100k demo rows, 50 clients, 30 s
    python benchmarks/api_load.py --rows 1000000 --clients 50 --seconds 30 --score-rows 1000

Needs a refreshed DATA_DIR: live_scoring.py's BENCH_DATA_DIR/refresh-<rows>/, refreshed here
first when it is missing or its snapshot lacks features.daily_orders (not timed). Then:

1. ``customer-intel serve`` starts in a child process on 127.0.0.1 and a free port;
2. ``--clients`` threads, each with one keep-alive ``http.client`` connection, send
   ``GET /customers/{id}`` for random ids of the snapshot for ``--seconds`` (loopback only,
   every request bounded by a 30 s timeout); half-way through, the snapshot is published
   again from the warehouse (pipeline.publish, as the refresh does) and the script checks
   that the server moved to it. Measured: requests per second, p50 / p99 / max latency,
   errors (any status but 200, or a failed connection);
3. ``POST /score`` with ``--score-rows`` new RFM rows (after one small warm-up request that
   loads the champion models), then the same rows again (all already logged).

The load generator runs on the same machine as the server and competes with it for the
cores: the figures are a lower bound of what the server alone would do.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    log,
    machine_info,
    markdown_table,
    print_machine,
)
from live_scoring import ensure_refreshed  # noqa: E402
from refresh import pipeline_env, run_refresh  # noqa: E402

from pipeline.serving.server import ServerProcess  # noqa: E402

REQUEST_TIMEOUT = 30.0


def serving_state(data_dir: Path, rows: int, timeout: float) -> Path:
    """live_scoring.py's refreshed state for ``rows``, refreshed again when its snapshot
    predates features.daily_orders (what POST /score needs)."""
    import duckdb

    folder = ensure_refreshed(data_dir, rows, timeout)
    snapshot = folder / "data" / "bi" / "customer_intel.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        (present,) = connection.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE schema_name = 'features' AND table_name = 'daily_orders'"
        ).fetchone()
    if not present:
        log(f"the snapshot in {folder} has no features.daily_orders: refreshing (not timed)")
        if not run_refresh(folder, "setup-api", timeout=timeout, memory_limit=None).ok:
            raise SystemExit(f"refresh failed in {folder}")
    return folder


def customer_ids(folder: Path) -> list[str]:
    import duckdb

    snapshot = folder / "data" / "bi" / "customer_intel.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        return [
            r[0]
            for r in connection.execute(
                "SELECT customer_id FROM marts.customer_segments"
            ).fetchall()
        ]


def republish(folder: Path) -> float:
    """Publish the snapshot again from the warehouse (a new file renamed over the old)."""
    import duckdb

    from pipeline.publish import publish_snapshot

    started = time.perf_counter()
    data = folder / "data"
    with duckdb.connect(str(data / "warehouse.duckdb")) as connection:
        publish_snapshot(connection, data / "bi" / "customer_intel.duckdb", run_id="bench")
    return time.perf_counter() - started


def run_load(port: int, ids: list[str], clients: int, seconds: float, on_half) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        chooser = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        own = latencies[index]
        while time.monotonic() < deadline:
            path = f"/customers/{chooser.choice(ids)}"
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"{response.status} {path}")
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
                continue
            own.append(time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    publish_seconds = on_half()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT)
    elapsed = time.monotonic() - started
    every = sorted(x for own in latencies for x in own)
    quantile = statistics.quantiles(every, n=100) if len(every) > 1 else [0.0] * 99
    return {
        "requests": len(every),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(every) / elapsed, 1),
        "p50_ms": round(quantile[49] * 1000, 2),
        "p99_ms": round(quantile[98] * 1000, 2),
        "max_ms": round(every[-1] * 1000, 2) if every else None,
        "errors": len(errors),
        "first_errors": errors[:5],
        "publish_seconds": round(publish_seconds, 2),
    }


def post_score(port: int, rows: list[dict]) -> tuple[float, dict]:
    body = json.dumps({"customers": rows}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.perf_counter()
    connection.request("POST", "/score", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    seconds = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise SystemExit(f"POST /score failed: {response.status} {payload}")
    return seconds, payload


def rfm_rows(count: int, tag: str) -> list[dict]:
    chooser = random.Random(tag)
    return [
        {
            "customer_id": f"BENCH-{tag}-{i}",
            "recency_days": chooser.randint(1, 365),
            "frequency": chooser.randint(1, 40),
            "monetary": round(chooser.uniform(10, 20000), 2),
        }
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo rows refreshed")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--score-rows", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--timeout", type=float, default=1800.0, help="refresh time limit")
    args = parser.parse_args()

    info = machine_info()
    folder = serving_state(args.data_dir, args.rows, args.timeout)
    ids = customer_ids(folder)
    env = pipeline_env(folder)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'data' / 'mlflow' / 'mlflow.db'}"
    env["API_MAX_ROWS"] = str(max(args.score_rows, 10_000))
    with ServerProcess(env) as server:
        log(f"server on {server.url}; {len(ids):,} customers; {args.clients} clients")

        def health() -> dict:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", "/health")
            reply = json.loads(connection.getresponse().read())
            connection.close()
            return reply

        before = health()["snapshot_published_at"]
        load = run_load(server.port, ids, args.clients, args.seconds, lambda: republish(folder))
        after = health()["snapshot_published_at"]
        load["snapshot_moved"] = after != before

        post_score(server.port, rfm_rows(5, f"warm{time.time_ns()}"))  # loads the champions
        tag = str(time.time_ns())
        rows = rfm_rows(args.score_rows, tag)
        first_seconds, first = post_score(server.port, rows)
        again_seconds, again = post_score(server.port, rows)
    score = {
        "rows": args.score_rows,
        "new_seconds": round(first_seconds, 3),
        "new_scored": first["scored"],
        "repeat_seconds": round(again_seconds, 3),
        "repeat_already_logged": again["already_logged"],
    }
    print_machine(info)
    print(
        markdown_table(
            ["measure", "value"],
            [
                ["customers in the snapshot", f"{len(ids):,}"],
                ["GET clients x seconds", f"{args.clients} x {args.seconds:g}"],
                ["GET requests", f"{load['requests']:,}"],
                ["GET requests/s", load["requests_per_second"]],
                [
                    "GET p50 / p99 / max ms",
                    f"{load['p50_ms']} / {load['p99_ms']} / {load['max_ms']}",
                ],
                ["GET errors", load["errors"]],
                ["snapshot republished during load (s)", load["publish_seconds"]],
                ["server moved to the new snapshot", load["snapshot_moved"]],
                [f"POST /score {args.score_rows} new RFM rows (s)", score["new_seconds"]],
                [f"POST /score the same {args.score_rows} again (s)", score["repeat_seconds"]],
            ],
        )
    )
    print(json.dumps({"machine": info, "load": load, "score": score}, default=str))
    if load["errors"] or not load["snapshot_moved"] or score["new_scored"] != args.score_rows:
        raise SystemExit("errors during the load, or the snapshot did not move")


if __name__ == "__main__":
    main()
