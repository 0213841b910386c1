"""Reproducible refreshes and two refreshes started at the same moment.

    python benchmarks/reproducibility.py --rows 1000000

Three fresh DATA_DIRs get the same generated CSV (seed 42, cached like engine.py's):
- ``alone-a`` and ``alone-b``: one ``customer-intel refresh`` each, one after the other. Their
  tables must be equal (order-insensitive fingerprints, floats to 6 decimals, run ids,
  model versions and wall-clock times left out: ``pipeline/table_fingerprints.py``) and
  their champion metrics the same.
- ``together``: two refreshes started at the same moment on one DATA_DIR and DAGSTER_HOME.
  Both must succeed, one after the other (the second waits for the warehouse run lock
  asleep), in about twice the time of one; each model is registered once per training
  (two versions each), and the tables equal ``alone-a``'s.

Printed: wall times, the ratio of the pair to one refresh, the CPU seconds of the waiting
process while it waited, model versions per registered model, and any table that differs.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    ChildResult,
    log,
    machine_info,
    markdown_table,
    print_machine,
    run_child,
)
from engine import ensure_data  # noqa: E402
from refresh import cli_executable, pipeline_env, prepare_state, read_runs  # noqa: E402


def refresh(folder: Path, timeout: float) -> ChildResult:
    return run_child(
        [cli_executable(), "refresh"], timeout=timeout, env=pipeline_env(folder), cwd=folder
    )


def fingerprints(folder: Path):
    import duckdb

    from pipeline.table_fingerprints import fingerprint_tables

    database = folder / "data" / "warehouse.duckdb"
    with duckdb.connect(str(database), read_only=True) as connection:
        return fingerprint_tables(connection)


def model_versions(folder: Path) -> dict[str, int]:
    store = folder / "data" / "mlflow" / "mlflow.db"
    with sqlite3.connect(store) as connection:
        return dict(
            connection.execute(
                "SELECT name, count(*) FROM model_versions GROUP BY name ORDER BY name"
            ).fetchall()
        )


def champion_metrics(folder: Path) -> list[tuple]:
    import duckdb

    database = folder / "data" / "warehouse.duckdb"
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(
            "SELECT * EXCLUDE (model_version, champion_version) FROM scores.model_evaluation "
            "ORDER BY ALL"
        ).fetchall()


def main(argv: list[str] | None = None) -> int:
    from pipeline.table_fingerprints import differences

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)

    print_machine(machine_info())
    csv, _ = ensure_data(args.data_dir, args.rows, args.timeout)
    root = args.data_dir / f"reproducibility-{args.rows}"
    folders = {name: root / name for name in ("alone-a", "alone-b", "together")}
    for folder in folders.values():
        prepare_state(folder, csv)

    alone = {}
    for name in ("alone-a", "alone-b"):
        log(f"{name}: customer-intel refresh")
        alone[name] = refresh(folders[name], args.timeout)
        if alone[name].returncode != 0:
            raise SystemExit(f"{name} failed: {alone[name].failure()}")

    log("together: two refreshes started at once")
    pair: list[ChildResult] = []
    threads = [
        threading.Thread(target=lambda: pair.append(refresh(folders["together"], args.timeout)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = read_runs(folders["together"] / "home", "refresh")

    one = alone["alone-a"].wall_seconds
    both = max(result.wall_seconds for result in pair)
    print(f"\n## {args.rows:,} rows: reproducibility and two refreshes at once\n")
    print(
        markdown_table(
            ["measure", "value"],
            [
                ["refresh alone (a, b)", f"{one:.1f} s, {alone['alone-b'].wall_seconds:.1f} s"],
                ["two at once: both done after", f"{both:.1f} s ({both / one:.2f}x one)"],
                ["two at once: each", ", ".join(f"{r.wall_seconds:.1f} s" for r in pair)],
                ["two at once: exit codes", ", ".join(str(r.returncode) for r in pair)],
                ["two at once: CPU s of each", ", ".join(f"{r.cpu_seconds:.1f}" for r in pair)],
                ["two at once: run statuses", ", ".join(r.status or "-" for r in runs)],
                ["model versions (together)", str(model_versions(folders["together"]))],
                ["model versions (alone-a)", str(model_versions(folders["alone-a"]))],
            ],
        )
    )
    a = fingerprints(folders["alone-a"])
    for name in ("alone-b", "together"):
        found = differences(a, fingerprints(folders[name]))
        print(f"\nalone-a vs {name}: {len(a)} tables, {len(found)} differ")
        for table, reason in found.items():
            print(f"- {table}: {reason}")
    same = champion_metrics(folders["alone-a"]) == champion_metrics(folders["alone-b"])
    print(f"\nmodel evaluation identical (alone-a vs alone-b): {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
