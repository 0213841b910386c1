"""The models step's training frames on a refreshed warehouse: seconds per layout of windows.

```bash
.venv/bin/python benchmarks/training_frames.py --rows 1000000
.venv/bin/python benchmarks/training_frames.py --rows 10000000 --layouts 12x30 25x15 \
    --project-at before=/tmp/before --check
```

For each layout (``WINDOWSxSTEP``: ``training_windows`` earlier windows ``window_step_days``
apart, as in the models step's run config; ``12x30`` is the default, ``25x15`` twice as many
windows over the same year) and each variant (the project, and with ``--project-at
LABEL=DIR`` another copy of the repository, say the code before a change), a child process
copies the warehouse, then times ``build_training_data`` (what the models step reports as
"read training frames": wall and CPU seconds of the process, DuckDB's threads included)
and the nightly ``scoring_frame`` and ``features.customer_rfm`` (one cutoff: wall and CPU).
Variants run interleaved within a repetition. With ``--check`` every variant's stacked rows
are compared with the first variant's, column by column (exactly, floats bit for bit; the
mismatches are listed).

The warehouse is ``refresh.py``'s state for ``--rows`` (``BENCH_DATA_DIR/refresh-<rows>/``;
run refresh.py first), or any file given with ``--warehouse``; it is copied, never opened.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# BENCH_PROJECT_ROOT: import ``pipeline`` from another copy (see --project-at).
sys.path.insert(0, os.environ.get("BENCH_PROJECT_ROOT") or str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    Samples,
    emit_result,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
    python_child,
    run_child,
)

PROJECT = "project"


def parse_layout(text: str) -> tuple[int, int]:
    windows, _, step = text.partition("x")
    return int(windows), int(step or 30)


def worker(warehouse: Path, layout: str, horizon_days: int, frames_out: Path | None) -> None:
    """In the child: time the training frames and the scoring frame on ``warehouse``."""
    import duckdb

    from pipeline.features import build_customer_rfm
    from pipeline.modelling.training_frames import (
        build_training_data,
        resolve_snapshot,
        resolve_windows,
        scoring_frame,
    )

    training_windows, step_days = parse_layout(layout)
    with duckdb.connect(str(warehouse)) as connection:
        snapshot = resolve_snapshot(connection, None)
        windows = resolve_windows(
            snapshot, horizon_days, training_windows=training_windows, window_step_days=step_days
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        data = build_training_data(connection, windows)
        frames_seconds = time.perf_counter() - started
        frames_cpu = time.process_time() - cpu_started
        started = time.perf_counter()
        scoring = scoring_frame(connection, windows, data.categories)
        scoring_seconds = time.perf_counter() - started
        started, cpu_started = time.perf_counter(), time.process_time()
        build_customer_rfm(connection, snapshot)
        rfm_seconds, rfm_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if frames_out is not None:
        data.rows.to_pickle(frames_out)
    emit_result(
        {
            "seconds": frames_seconds,
            "cpu_seconds": frames_cpu,
            "steps": {
                "training frames": frames_seconds,
                "scoring frame": scoring_seconds,
                "customer_rfm": rfm_seconds,
                "customer_rfm CPU": rfm_cpu,
            },
            "windows": len(data.window_starts),
            "rows": len(data.rows),
            "scoring_rows": len(scoring),
        }
    )


def compare_frames(reference: Path, other: Path) -> list[str]:
    """Columns of ``other`` that differ from ``reference`` (exactly), with their counts."""
    import pandas as pd

    left, right = pd.read_pickle(reference), pd.read_pickle(other)
    if list(left.columns) != list(right.columns) or len(left) != len(right):
        return [f"shape {left.shape} vs {right.shape}"]
    problems = []
    for column in left.columns:
        a, b = left[column], right[column]
        if a.dtype != b.dtype:
            problems.append(f"{column}: dtype {a.dtype} vs {b.dtype}")
            continue
        differ = ~((a == b) | (a.isna() & b.isna()))
        if differ.any():
            largest = (a[differ] - b[differ]).abs().max() if a.dtype.kind == "f" else "-"
            problems.append(f"{column}: {int(differ.sum())} of {len(a)} (largest {largest})")
    return problems


def run_variant(args, variant: str, root: Path | None, layout: str, frames: Path | None):
    workdir = Path(tempfile.mkdtemp(prefix="frames-", dir=args.data_dir))
    try:
        copy = workdir / "warehouse.duckdb"
        shutil.copyfile(args.warehouse, copy)
        argv = ["--worker", "--warehouse", copy, "--layout", layout]
        argv += ["--horizon-days", args.horizon_days]
        if frames is not None:
            argv += ["--frames-out", frames]
        env = {"BENCH_PROJECT_ROOT": str(root)} if root else {}
        return run_child(python_child(Path(__file__), *argv), timeout=args.timeout, env=env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--warehouse", type=Path, help="default: refresh.py's state for --rows")
    parser.add_argument("--layouts", nargs="+", default=["12x30", "25x15"])
    parser.add_argument("--horizon-days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--project-at", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--check", action="store_true", help="compare the variants' frames")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--layout", help=argparse.SUPPRESS)
    parser.add_argument("--frames-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.warehouse, args.layout, args.horizon_days, args.frames_out)
        return 0

    args.warehouse = args.warehouse or (
        args.data_dir / f"refresh-{args.rows}" / "data" / "warehouse.duckdb"
    )
    if not args.warehouse.exists():
        log(f"no warehouse at {args.warehouse}: run benchmarks/refresh.py --rows {args.rows}")
        return 2
    roots: dict[str, Path | None] = {PROJECT: None}
    for label, _, path in (item.partition("=") for item in args.project_at):
        roots[f"{PROJECT}@{label}"] = Path(path).resolve()
    print_machine(machine_info())
    print(f"# warehouse {args.warehouse} (copied for each run), horizon {args.horizon_days} days")
    samples = {(layout, v): Samples() for layout in args.layouts for v in roots}
    failures = []
    with tempfile.TemporaryDirectory(dir=args.data_dir) as scratch:
        for repetition in range(args.repeat):
            for layout in args.layouts:
                for variant, root in roots.items():
                    log(f"[{repetition + 1}/{args.repeat}] {layout} {variant}")
                    frames = Path(scratch) / f"{layout}-{variant}.pkl" if args.check else None
                    child = run_variant(args, variant, root, layout, frames)
                    if not child.ok:
                        log(f"  failed: {child.failure()}")
                        samples[layout, variant].failures.append(child.failure())
                        continue
                    payload = child.payload
                    samples[layout, variant].add(
                        payload["seconds"],
                        child.max_rss_bytes,
                        payload["steps"],
                        cpu_seconds=payload["cpu_seconds"],
                    )
                    samples[layout, variant].facts = payload
            if args.check:
                for layout in args.layouts:
                    first, *others = roots
                    for variant in others:
                        problems = compare_frames(
                            Path(scratch) / f"{layout}-{first}.pkl",
                            Path(scratch) / f"{layout}-{variant}.pkl",
                        )
                        failures += [f"{layout} {variant} vs {first}: {p}" for p in problems]
    print_tables(args, roots, samples)
    if args.check:
        print("\nFrames compared with the first variant, column by column: " + (
            "identical." if not failures else "differences:\n- " + "\n- ".join(failures)
        ))  # fmt: skip
    return 0


def print_tables(args, roots, samples) -> None:
    rows = []
    first = next(iter(roots))
    for layout in args.layouts:
        for variant in roots:
            s = samples[layout, variant]
            facts, steps = s.facts, s.step_medians()
            base, base_cpu = samples[layout, first].median, samples[layout, first].cpu_median
            rows.append([
                layout, variant, facts.get("windows", "-"), f"{facts.get('rows', 0):,}",
                fmt_seconds(s.median), s.spread(),
                fmt_ratio(s.median / base) if s.median and base else "-",
                fmt_seconds(s.cpu_median),
                fmt_ratio(s.cpu_median / base_cpu) if s.cpu_median and base_cpu else "-",
                fmt_seconds(steps.get("scoring frame")), fmt_seconds(steps.get("customer_rfm")),
                fmt_seconds(steps.get("customer_rfm CPU")), fmt_bytes(s.peak_rss),
                f"{len(s.seconds)}/{len(s.seconds) + len(s.failures)}",
            ])  # fmt: skip
    headers = ["layout", "variant", "windows", "rows", "training frames s", "min-max s",
               f"vs {first}", "CPU s", f"CPU vs {first}", "scoring frame s", "customer_rfm s",
               "customer_rfm CPU s", "peak RSS", "runs ok"]  # fmt: skip
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    raise SystemExit(main())
