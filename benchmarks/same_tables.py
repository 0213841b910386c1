"""Do two versions of the code build the same tables from the same files?

    python benchmarks/same_tables.py --rows 1000000 --before /path/to/other/checkout

One generated CSV (seed 42, cached like engine.py's) is refreshed twice, each time in a
fresh DATA_DIR and DAGSTER_HOME: once with the packages of ``--before`` (a checkout of the
earlier revision, e.g. ``git worktree add /tmp/before main``) shadowing this checkout's,
once with this checkout's. The warehouses are compared table by table with order-insensitive
fingerprints (``pipeline/table_fingerprints.py``: floats to 6 decimals; run ids, model
versions and wall-clock times left out). Printed: each refresh's wall time, every table that
differs, and the tables only one side has. For a refactoring, the answer must be "0 differ".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    log,
    machine_info,
    print_machine,
    run_child,
)
from engine import ensure_data  # noqa: E402
from refresh import cli_executable, pipeline_env, prepare_state  # noqa: E402
from reproducibility import fingerprints  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from pipeline.table_fingerprints import differences

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--before", type=Path, required=True, help="checkout of the old code")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)

    print_machine(machine_info())
    csv, _ = ensure_data(args.data_dir, args.rows, args.timeout)
    root = args.data_dir / f"same-tables-{args.rows}"
    sides = {"before": args.before.resolve(), "after": HERE.parent}
    tables = {}
    for name, source in sides.items():
        folder = root / name
        prepare_state(folder, csv)
        log(f"{name}: customer-intel refresh with the code of {source}")
        result = run_child(
            [cli_executable(), "refresh"],
            timeout=args.timeout,
            env=pipeline_env(folder, overlay=source),
            cwd=folder,
        )
        if result.returncode != 0:
            raise SystemExit(f"{name} failed: {result.failure()}")
        print(f"- {name}: refresh {result.wall_seconds:.1f} s ({source})")
        tables[name] = fingerprints(folder)

    before, after = tables["before"], tables["after"]
    shared = {t: f for t, f in before.items() if t in after}
    found = differences(shared, {t: after[t] for t in shared})
    print(f"\n{args.rows:,} rows: {len(shared)} tables on both sides, {len(found)} differ")
    for table, reason in found.items():
        print(f"- {table}: {reason}")
    for name, only in (
        ("before", sorted(set(before) - set(after))),
        ("after", sorted(set(after) - set(before))),
    ):
        if only:
            print(f"only {name}: {', '.join(only)}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
