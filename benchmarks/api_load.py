"""HTTP API benchmark: customer lookups under load while a new snapshot is published, and
one POST /score of 1,000 RFM rows.

    python benchmarks/api_load.py                          # 100k demo rows, 50 clients, 30 s
    python benchmarks/api_load.py --rows 1000000 --clients 50 --seconds 30 --score-rows 1000
    python benchmarks/api_load.py --server-at before=/tmp/before   # + the code in /tmp/before

Needs a refreshed DATA_DIR: live_scoring.py's BENCH_DATA_DIR/refresh-<rows>/, refreshed here
first when it is missing or its snapshot lacks features.daily_orders (not timed). Then, for
each server measured (``--server-at`` ones first, then this checkout's):

1. ``customer-intel serve`` starts in a child process on 127.0.0.1 and a free port;
2. the load generator, _load_client.py, runs in a process of its own: ``--clients``
   keep-alive connections on one asyncio event loop, ``GET /customers/{id}`` for random ids
   of the snapshot for ``--seconds`` (every request bounded by a 30 s timeout). Half-way
   through, this process publishes the snapshot again from the warehouse (pipeline.publish,
   as the refresh does) and then checks that the server moved to it. Measured: requests per
   second, p50 / p99 / max latency, errors (any status but 200, or a failed connection),
   and the CPU seconds of the server's processes and of the load generator over the load;
3. ``POST /score`` with ``--score-rows`` new RFM rows (after one small warm-up request), then
   the same rows again (all already logged), ``--score-repeat`` times: the median and
   min-max seconds, and the server's CPU seconds per POST.

The load generator shares the machine's cores with the server; its CPU seconds are printed
beside the server's so the reader can see what share it took.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
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


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (uvicorn's workers), from
    /proc (Linux); 0.0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_load(server: ServerProcess, ids: list[str], clients: int, seconds: float, on_half) -> dict:
    """_load_client.py in its own process against ``server``; ``on_half()`` runs half-way
    through (in this process, so the republish does not share the client's interpreter)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(ids))
    command = [
        sys.executable,
        str(Path(__file__).resolve().parent / "_load_client.py"),
        *("--port", str(server.port), "--ids", listing.name),
        *("--clients", str(clients), "--seconds", str(seconds)),
    ]
    client = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        if client.stdout.readline().strip() != "ready":
            raise SystemExit("the load client did not start")
        server_cpu = process_tree_cpu(server.process.pid)
        time.sleep(seconds / 2)
        publish_seconds = on_half()
        output, _ = client.communicate(timeout=seconds + REQUEST_TIMEOUT + 60)
        server_cpu = process_tree_cpu(server.process.pid) - server_cpu
    finally:
        if client.poll() is None:
            client.kill()
        os.unlink(listing.name)
    if client.returncode != 0:
        raise SystemExit(f"the load client failed ({client.returncode})")
    load = json.loads(output.strip().splitlines()[-1])
    load["server_cpu_seconds"] = round(server_cpu, 2)
    load["publish_seconds"] = round(publish_seconds, 2)
    return load


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


def health(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/health")
    reply = json.loads(connection.getresponse().read())
    connection.close()
    return reply


def moved(port: int, before, wait: float = 60.0) -> bool:
    """Whether the server serves a snapshot published after ``before`` (it loads a new one
    in the background after its first request that sees it, so ask again for a while)."""
    deadline = time.monotonic() + wait
    while health(port)["snapshot_published_at"] == before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def measure_server(env: dict, cwd: Path | None, folder: Path, ids: list[str], args) -> dict:
    """One server (one code variant, imported from ``cwd``): the lookups under load with a
    republish, then the POSTs."""
    load_average = os.getloadavg()[0]
    with ServerProcess(env, cwd=str(cwd) if cwd else None) as server:
        log(f"server on {server.url}; {len(ids):,} customers; {args.clients} clients")
        before = health(server.port)["snapshot_published_at"]
        load = run_load(server, ids, args.clients, args.seconds, lambda: republish(folder))
        load["snapshot_moved"] = moved(server.port, before)
        post_score(server.port, rfm_rows(5, f"warm{time.time_ns()}"))  # first use
        score = measure_posts(server, args.score_rows, args.score_repeat)
    return {"load_average": round(load_average, 2), "load": load, "score": score}


def measure_posts(server: ServerProcess, rows: int, repeat: int) -> dict:
    """``repeat`` POSTs of ``rows`` new RFM rows, each followed by the same rows again:
    median and min-max seconds, and the server's CPU seconds per POST of new rows."""
    new, again, cpu = [], [], []
    for _ in range(repeat):
        batch = rfm_rows(rows, str(time.time_ns()))
        before = process_tree_cpu(server.process.pid)
        seconds, first = post_score(server.port, batch)
        cpu.append(process_tree_cpu(server.process.pid) - before)
        if first["scored"] != rows:
            raise SystemExit(f"POST /score scored {first['scored']} of {rows} new rows")
        new.append(seconds)
        seconds, repeated = post_score(server.port, batch)
        if repeated["already_logged"] != rows:
            raise SystemExit("POST /score of logged rows scored some of them again")
        again.append(seconds)
    return {
        "rows": rows,
        "new_seconds": round(statistics.median(new), 3),
        "new_range": [round(min(new), 3), round(max(new), 3)],
        "new_server_cpu_seconds": round(statistics.median(cpu), 3),
        "repeat_seconds": round(statistics.median(again), 3),
        "all_new_seconds": [round(x, 3) for x in new],
    }


def figures_table(results: dict[str, dict], args) -> str:
    def row(label, pick):
        return [label, *(pick(r) for r in results.values())]

    return markdown_table(
        ["measure", *results],
        [
            row("load average (1 min) at the start", lambda r: r["load_average"]),
            row("GET requests", lambda r: f"{r['load']['requests']:,}"),
            row("GET requests/s", lambda r: r["load"]["requests_per_second"]),
            row(
                "GET p50 / p99 / max ms",
                lambda r: f"{r['load']['p50_ms']} / {r['load']['p99_ms']} / {r['load']['max_ms']}",
            ),
            row("GET errors", lambda r: r["load"]["errors"]),
            row(
                "CPU s: server / load client",
                lambda r: f"{r['load']['server_cpu_seconds']} / {r['load']['client_cpu_seconds']}",
            ),
            row("snapshot republished during load (s)", lambda r: r["load"]["publish_seconds"]),
            row("server moved to the new snapshot", lambda r: r["load"]["snapshot_moved"]),
            row(
                f"POST /score {args.score_rows} new RFM rows: median (min-max) s",
                lambda r: (
                    f"{r['score']['new_seconds']} ({r['score']['new_range'][0]}-"
                    f"{r['score']['new_range'][1]})"
                ),
            ),
            row(
                "server CPU s per POST of new rows", lambda r: r["score"]["new_server_cpu_seconds"]
            ),
            row(
                f"POST /score the same {args.score_rows} again: median s",
                lambda r: r["score"]["repeat_seconds"],
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo rows refreshed")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--score-rows", type=int, default=1000)
    parser.add_argument("--score-repeat", type=int, default=3, help="timed POSTs of new rows")
    parser.add_argument(
        "--workers", type=int, help="API_WORKERS of this checkout's server (default: the API's)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--timeout", type=float, default=1800.0, help="refresh time limit")
    parser.add_argument(
        "--server-at",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="also measure a server importing pipeline/ and orchestration/ from DIR (another "
        "copy of the repository, e.g. the code before a change), first, in the same run",
    )
    args = parser.parse_args()

    info = machine_info()
    folder = serving_state(args.data_dir, args.rows, args.timeout)
    ids = customer_ids(folder)
    env = pipeline_env(folder)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'data' / 'mlflow' / 'mlflow.db'}"
    env["API_MAX_ROWS"] = str(max(args.score_rows, 10_000))
    variants: dict[str, tuple[dict, Path | None]] = {}
    for spec in args.server_at:
        label, _, directory = spec.partition("=")
        other = Path(directory).resolve()
        variants[f"server@{label}"] = ({**env, "PYTHONPATH": str(other)}, other)
    # API_WORKERS for this checkout's server only: another copy may not know it.
    variants["server"] = ({**env, "API_WORKERS": str(args.workers)} if args.workers else env, None)
    results = {}
    for label, (variant_env, cwd) in variants.items():
        log(f"measuring {label}")
        results[label] = measure_server(variant_env, cwd, folder, ids, args)
    print_machine(info)
    print(f"customers in the snapshot: {len(ids):,}; {args.clients} clients x {args.seconds:g} s\n")
    print(figures_table(results, args))
    print(json.dumps({"machine": info, "results": results}, default=str))
    failed = [
        label
        for label, r in results.items()
        if r["load"]["errors"] or not r["load"]["snapshot_moved"]
    ]
    if failed:
        raise SystemExit(f"errors during the load, or the snapshot did not move: {failed}")


if __name__ == "__main__":
    main()
