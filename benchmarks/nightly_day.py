"""One nightly run on a copy of a refreshed state, for the code before and after a change.

    python benchmarks/nightly_day.py --state DIR [--before /path/to/other/checkout]
        [--job refresh]

``--state`` is a folder ``refresh.py`` left (``DIR/data`` and ``DIR/home``, e.g.
``$BENCH_DATA_DIR/refresh-10000000``; it is only read). For each side, a copy of it gets the
next day's file (the history's last day moved one day on, ``write_next_day_file``) and runs
``customer-intel nightly`` with that side's code (``--before``: a checkout of the earlier
revision shadowing this one's packages, e.g. ``git worktree add --detach /tmp/before main``);
the sides run one after the other. Printed: each run's wall and Dagster run time, peak
memory, the steps by time, and the tables of the two warehouses that differ (order-insensitive
fingerprints, ``pipeline/table_fingerprints.py``; ``staging.cleaning_state``, which records
when and how staging was built, left out). Run it twice from a state the new code made (its
first run sets up what the next nights extend) to see a steady night. ``--job refresh`` runs
the day with training instead (the training step's phases are printed too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _harness import log, machine_info, print_machine  # noqa: E402
from refresh import copy_state, run_refresh, write_next_day_file  # noqa: E402
from reproducibility import fingerprints  # noqa: E402

COMPARED_SCHEMAS = ("staging", "features", "segments", "scores", "marts")
# The training step's phases are in the metadata of each model it trains.
TRAINED_MODEL = "models/purchase_propensity"
BUILD_RECORDS = ("staging.cleaning_state",)


def night(
    state: Path, target: Path, overlay: Path | None, timeout: float, job: str = "nightly"
) -> dict:
    """Copy ``state`` to ``target``, land the next day, run ``job``; its figures."""
    copy_state(state, target)
    landing = target / "data" / "landing"
    # The latest day file an earlier night wrote (online_retail_YYYYMMDD.csv), else the history.
    days = sorted(landing.glob("online_retail_2*.csv"))
    written = write_next_day_file(days[-1] if days else max(landing.glob("*.csv")), landing)
    log(f"  landed {written['rows']:,} rows of {written['day']} in {target}")
    measured = run_refresh(
        target, job, timeout=timeout, memory_limit=None, overlay=overlay, job=job
    )
    if not measured.ok:
        raise SystemExit(f"{target}: {measured.outcome}")
    return {
        "wall": measured.child.wall_seconds,
        "run": measured.run.run_seconds,
        "rss": measured.child.tree_peak_rss_bytes or measured.child.max_rss_bytes,
        "steps": measured.run.steps,
        "training": measured.run.metadata.get(TRAINED_MODEL, {}).get("step_seconds"),
    }


def compared_tables(folder: Path) -> dict:
    return {
        table: fingerprint
        for table, fingerprint in fingerprints(folder).items()
        if table.split(".")[0] in COMPARED_SCHEMAS and table not in BUILD_RECORDS
    }


def main(argv: list[str] | None = None) -> int:
    from pipeline.table_fingerprints import differences

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True, help="a folder refresh.py left")
    parser.add_argument("--before", type=Path, help="checkout of the earlier code")
    parser.add_argument("--work-dir", type=Path, help="where the copies go (default: beside)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--job",
        choices=("nightly", "refresh"),
        default="nightly",
        help="refresh: the day with training (the tables then differ where the models do)",
    )
    args = parser.parse_args(argv)

    print_machine(machine_info())
    work = args.work_dir or args.state.parent / f"{args.state.name}-nights"
    sides = {"after": None}
    if args.before:
        sides = {"before": args.before.resolve(), **sides}
    results = {}
    for name, overlay in sides.items():
        log(f"{name}: customer-intel {args.job} with the code of {overlay or HERE.parent}")
        results[name] = night(args.state, work / name, overlay, args.timeout, args.job)
    print("\n| side | wall s | Dagster run s | steps | sum of steps s | peak RSS (tree) GiB |")
    print("|---|---|---|---|---|---|")
    for name, figures in results.items():
        steps = figures["steps"]
        print(
            f"| {name} | {figures['wall']:.1f} | {figures['run']:.1f} | {len(steps)} | "
            f"{sum(steps.values()):.1f} | {figures['rss'] / 2**30:.2f} |"
        )
    for name, figures in results.items():
        print(f"\n{name}, steps over 0.3 s:")
        for step, seconds in sorted(figures["steps"].items(), key=lambda item: -item[1]):
            if seconds > 0.3:
                print(f"  {step:60s} {seconds:6.2f}")
        if figures["training"]:
            print(f"\n{name}, the training step's phases:\n{figures['training']}")
    if "before" not in results:
        return 0
    before, after = (compared_tables(work / name) for name in ("before", "after"))
    shared = sorted(set(before) & set(after))
    found = differences({t: before[t] for t in shared}, {t: after[t] for t in shared})
    print(f"\n{len(shared)} tables on both sides, {len(found)} differ")
    for table, reason in found.items():
        print(f"- {table}: {reason}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
