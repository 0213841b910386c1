"""End-to-end benchmark: the `refresh` job (every asset and check) through Dagster.

    python benchmarks/refresh.py --rows 1000000                        # quick set (make bench)
    python benchmarks/refresh.py --rows 10000000 --incremental         # scale set
    python benchmarks/refresh.py --rows 100000000 --duckdb-memory-limit 4GB   # make bench-100m

For each size, the demo generator's UCI-layout CSV (seed 42, cached like engine.py's) and its
truth file go into a fresh DATA_DIR, and ``customer-intel refresh`` runs in a child process
with DATA_DIR, DAGSTER_HOME (a new instance in the same folder) and
FRESHNESS_REFERENCE_DATE=2011-12-10, exactly as a user runs it. Measured: the process's wall
time (imports included), the Dagster run's own duration, CPU seconds, the peak RSS of the
largest process (os.wait4) and of the whole process tree (summed RSS, sampled), and, from the
instance's event log afterwards, the seconds of every step (``get_run_step_stats``) sorted by
time, plus the phases the models step reports in its ``step_seconds`` metadata.

With ``--incremental``, after the last full refresh of a size a file of one day's new
invoices (the rows of the history's last day, moved to the next day, with new invoice
numbers) is dropped into landing and the nightly run follows: ``customer-intel nightly``,
the job the nightly schedule runs (everything but training; the scores use the champions
the full refresh registered). The ingest step
must cost in proportion to the new file, not the history.

The last repetition's DATA_DIR and DAGSTER_HOME are kept in BENCH_DATA_DIR/refresh-<rows>/
for live_scoring.py and model_quality.py (and for a look in the UI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    ChildResult,
    fmt_bytes,
    fmt_seconds,
    log,
    machine_info,
    markdown_table,
    print_machine,
    run_child,
)
from engine import SEED, ensure_data  # noqa: E402

FRESHNESS_REFERENCE_DATE = "2011-12-10"  # the demo history ends on 2011-12-09
# Wall-clock targets of the full refresh (process start to exit) on the 2-core machine.
TIME_TARGETS = {1_000_000: 45.0, 10_000_000: 180.0}
# Peak memory of the run's processes at 100M rows (summed RSS of the tree).
MEMORY_TARGETS = {100_000_000: 6 * 1024**3}
MODELS_STEP = "train_models"
INGEST_STEP = "raw_ingest"
TOP_STEPS = 15  # steps listed one by one; the rest are summed in one row


def cli_executable() -> Path:
    """The project's command line in this interpreter's virtualenv."""
    return Path(sys.executable).parent / "customer-intel"


# ---------------------------------------------------------------------------------------------
# State folders
# ---------------------------------------------------------------------------------------------
def state_dir(data_dir: Path, rows: int) -> Path:
    return data_dir / f"refresh-{rows}"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # same file system: no copy of a GB-sized CSV
    except OSError:
        shutil.copy2(source, target)


def prepare_state(folder: Path, csv: Path, more: list[Path] | tuple[Path, ...] = ()) -> None:
    """A fresh DATA_DIR (landing file + demo truth) and an empty DAGSTER_HOME in ``folder``.

    ``more``: further generated files (other seeds) landed beside ``csv``, each under the
    name of its folder; the demo truth is ``csv``'s only."""
    shutil.rmtree(folder, ignore_errors=True)
    landing = folder / "data" / "landing"
    demo = folder / "data" / "demo"
    landing.mkdir(parents=True)
    demo.mkdir(parents=True)
    (folder / "home").mkdir()
    _link_or_copy(csv, landing / csv.name)
    for extra in more:
        _link_or_copy(extra, landing / f"{extra.parent.parent.name}.csv")
    for path in (csv.parent.parent / "demo").iterdir():
        shutil.copy2(path, demo / path.name)


def pipeline_env(
    folder: Path, memory_limit: str | None = None, overlay: Path | None = None
) -> dict[str, str]:
    env = {
        "DATA_DIR": str(folder / "data"),
        "DAGSTER_HOME": str(folder / "home"),
        "FRESHNESS_REFERENCE_DATE": FRESHNESS_REFERENCE_DATE,
        # The job alone: the command line's history snapshot after it is history.py's.
        "HISTORY_AFTER_REFRESH": "false",
    }
    if memory_limit:
        env["DUCKDB_MEMORY_LIMIT"] = memory_limit
    # This checkout's packages, also when the virtualenv's editable install points at
    # another one; packages in ``overlay`` (e.g. a patched copy of pipeline/) shadow them.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(overlay or ""), str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


# ---------------------------------------------------------------------------------------------
# Reading the Dagster instance
# ---------------------------------------------------------------------------------------------
@dataclass
class RunFacts:
    run_id: str | None = None
    job: str | None = None
    status: str | None = None
    run_seconds: float | None = None  # RUN_START to the run's end (or its last step's end)
    steps: dict[str, float] = field(default_factory=dict)  # finished steps: seconds
    unfinished: list[str] = field(default_factory=list)  # started, never ended (a killed run)
    failed: list[str] = field(default_factory=list)  # steps that ended in failure
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)  # asset -> metadata


def _metadata_value(value: object) -> object:
    inner = getattr(value, "value", value)
    if isinstance(inner, (str, int, float, bool)) or inner is None:
        return inner
    return getattr(inner, "path", None) or str(inner)


def open_instance(home: Path):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(home))


def read_runs(home: Path, job: str | None = None) -> list[RunFacts]:
    """Every run of the instance in ``home`` (of ``job``), newest first, with step times."""
    from dagster import RunsFilter

    facts = []
    with open_instance(home) as instance:
        runs = instance.get_runs(filters=RunsFilter(job_name=job) if job else None)
        for run in runs:
            item = RunFacts(run_id=run.run_id, job=run.job_name, status=run.status.value)
            stats = instance.get_run_step_stats(run.run_id)
            ends = []
            for step in stats:
                if step.start_time is not None and step.end_time is not None:
                    item.steps[step.step_key] = step.end_time - step.start_time
                    ends.append(step.end_time)
                    if step.status is not None and step.status.value == "FAILURE":
                        item.failed.append(step.step_key)
                elif step.start_time is not None:
                    item.unfinished.append(step.step_key)
                for event in step.materialization_events:
                    materialization = event.asset_materialization
                    if materialization is None:
                        continue
                    key = "/".join(materialization.asset_key.path)
                    item.metadata[key] = {
                        name: _metadata_value(value)
                        for name, value in materialization.metadata.items()
                    }
            run_stats = instance.get_run_stats(run.run_id)
            end = run_stats.end_time or (max(ends) if ends else None)
            if run_stats.start_time and end:
                item.run_seconds = end - run_stats.start_time
            facts.append(item)
    return facts


def markdown_pairs(text: object) -> dict[str, float]:
    """A two-column Markdown table (``| phase | seconds |``) as {phase: number}."""
    pairs = {}
    for line in str(text or "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or set(cells[1]) <= set("-: "):
            continue
        try:
            pairs[cells[0]] = float(cells[1].replace(",", ""))
        except ValueError:
            continue
    return pairs


def model_phases(facts: RunFacts) -> dict[str, float]:
    """The models step's own breakdown (its ``step_seconds`` metadata), if it finished."""
    for key in ("models/purchase_propensity", "models/customer_churn"):
        phases = markdown_pairs(facts.metadata.get(key, {}).get("step_seconds"))
        if phases:
            return phases
    return {}


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------
@dataclass
class Measured:
    label: str
    child: ChildResult
    run: RunFacts

    @property
    def ok(self) -> bool:
        return self.child.returncode == 0 and self.run.status == "SUCCESS"

    @property
    def outcome(self) -> str:
        if self.child.timed_out:
            running = ", ".join(self.run.unfinished) or "?"
            return f"timed out after {self.child.wall_seconds:.0f} s, in step {running}"
        if not self.ok:
            return f"FAILED ({self.run.status}; exit {self.child.returncode})"
        return "ok"


def run_refresh(
    folder: Path,
    label: str,
    *,
    timeout: float,
    memory_limit: str | None,
    overlay: Path | None = None,
    job: str = "refresh",
) -> Measured:
    """``customer-intel <job>`` (refresh, or nightly: no training) on ``folder``'s DATA_DIR
    and DAGSTER_HOME, measured."""
    runs_before = {r.run_id for r in read_runs(folder / "home")} if _has_instance(folder) else set()
    log(f"  {label}: customer-intel {job} (DATA_DIR={folder / 'data'})")
    child = run_child(
        [cli_executable(), job],
        timeout=timeout,
        env=pipeline_env(folder, memory_limit, overlay),
        cwd=folder,
        sample_tree=True,
    )
    (folder / f"{label}.stdout.txt").write_text(child.stdout)
    (folder / f"{label}.stderr.txt").write_text(child.stderr)
    new_runs = [r for r in read_runs(folder / "home", job) if r.run_id not in runs_before]
    run = new_runs[0] if new_runs else RunFacts(status="no run recorded")
    measured = Measured(label, child, run)
    log(
        f"  {label}: {measured.outcome}; {child.wall_seconds:.1f} s, run "
        f"{fmt_seconds(run.run_seconds)} s, peak RSS {fmt_bytes(child.max_rss_bytes)} "
        f"(tree {fmt_bytes(child.tree_peak_rss_bytes)})"
    )
    if not measured.ok and not child.timed_out:
        log("\n".join(child.stdout.strip().splitlines()[-5:]))
    return measured


def copy_state(folder: Path, target: Path) -> None:
    """A copy of ``folder``'s DATA_DIR and DAGSTER_HOME; the landing CSVs (read only) are
    hard links, everything a run writes (the warehouse, MLflow, the instance) is copied."""

    def copy(source: str, destination: str) -> None:
        if Path(source).parent.name == "landing" and source.endswith(".csv"):
            _link_or_copy(Path(source), Path(destination))
        else:
            shutil.copy2(source, destination)

    shutil.rmtree(target, ignore_errors=True)
    for part in ("data", "home"):
        shutil.copytree(folder / part, target / part, copy_function=copy, symlinks=True)


def compare_steps(runs: dict[str, Measured], top: int = TOP_STEPS) -> str:
    """Seconds per step of runs of the same job side by side, the slowest (in the first
    run) first, then the steps only later runs have, with each run's total and its ratio to
    the first."""
    labels = list(runs)
    first = runs[labels[0]].run
    # Steps of every run: a step renamed or merged in one of them is listed too.
    names = sorted(
        {name for label in labels for name in runs[label].run.steps},
        key=lambda name: (-first.steps.get(name, 0.0), name),
    )
    rows = [
        [name, *(fmt_seconds(runs[label].run.steps.get(name)) for label in labels)]
        for name in names[:top]
    ]
    rest = names[top:]
    rows.append(
        [
            f"({len(rest)} other steps)",
            *(
                fmt_seconds(sum(runs[label].run.steps.get(n, 0.0) for n in rest))
                for label in labels
            ),
        ]
    )
    for title, value in (
        ("Dagster run seconds", lambda m: m.run.run_seconds),
        ("wall seconds (process)", lambda m: m.child.wall_seconds),
    ):
        rows.append([title, *(fmt_seconds(value(runs[label])) for label in labels)])
    base = runs[labels[0]].child.wall_seconds
    rows.append(
        [
            "wall, ratio to the first",
            *(f"{runs[label].child.wall_seconds / base:.2f}" for label in labels),
        ]
    )
    return markdown_table(["step", *labels], rows)


def _has_instance(folder: Path) -> bool:
    return (folder / "home" / "dagster.yaml").exists()


# ---------------------------------------------------------------------------------------------
# The nightly file: one day of new invoices on top of the history
# ---------------------------------------------------------------------------------------------
def write_next_day_file(csv: Path, landing: Path) -> dict:
    """The history's last day of rows, moved to the next day with new invoice numbers
    (existing customers, the same products, prices and dirt), written beside the history in
    the same layout. Returns what was written."""
    import duckdb

    connection = duckdb.connect()
    connection.execute(
        "CREATE TEMP TABLE history AS SELECT * FROM read_csv($csv, all_varchar = true, "
        "header = true)",
        {"csv": str(csv)},
    )
    (last_day,) = connection.execute(
        "SELECT max(CAST(strptime(InvoiceDate, '%m/%d/%Y %H:%M') AS DATE)) FROM history"
    ).fetchone()
    next_day = last_day + dt.timedelta(days=1)
    old_prefix = f"{last_day.month}/{last_day.day}/{last_day.year} "
    new_prefix = f"{next_day.month}/{next_day.day}/{next_day.year} "
    target = landing / f"online_retail_{next_day:%Y%m%d}.csv"
    columns = [
        c for (c,) in connection.execute("SELECT name FROM pragma_table_info('history')").fetchall()
    ]
    select = ", ".join(
        "InvoiceNo || '1' AS InvoiceNo"  # a new invoice number, the C prefix kept
        if c == "InvoiceNo"
        else f"$new || substr(InvoiceDate, {len(old_prefix) + 1}) AS InvoiceDate"
        if c == "InvoiceDate"
        else f'"{c}"'
        for c in columns
    )
    connection.execute(
        f"COPY (SELECT {select} FROM history WHERE starts_with(InvoiceDate, $old)) "
        f"TO '{target}' (HEADER, DELIMITER ',')",
        {"old": old_prefix, "new": new_prefix},
    )
    (rows, customers) = connection.execute(
        "SELECT count(*), count(DISTINCT CustomerID) FROM history "
        "WHERE starts_with(InvoiceDate, $old)",
        {"old": old_prefix},
    ).fetchone()
    connection.close()
    return {
        "path": str(target),
        "day": next_day.isoformat(),
        "rows": rows,
        "customers": customers,
        "bytes": target.stat().st_size,
    }


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def step_medians(runs: list[Measured]) -> dict[str, float]:
    names = {name for m in runs for name in m.run.steps}
    return {
        name: statistics.median([m.run.steps[name] for m in runs if name in m.run.steps])
        for name in names
    }


def step_table(
    steps: dict[str, float],
    total: float | None,
    top: int = TOP_STEPS,
    failed: list[str] | tuple[str, ...] = (),
    unfinished: list[str] | tuple[str, ...] = (),
) -> str:
    ordered = sorted(steps.items(), key=lambda item: -item[1])
    rows = []
    for name, seconds in ordered[:top]:
        share = f"{seconds / total:.0%}" if total else "-"
        rows.append([name + (" (FAILED)" if name in failed else ""), fmt_seconds(seconds), share])
    rest = ordered[top:]
    if rest:
        seconds = sum(s for _, s in rest)
        share = f"{seconds / total:.0%}" if total else "-"
        rows.append([f"({len(rest)} other steps)", fmt_seconds(seconds), share])
    for name in unfinished:
        rows.append([f"{name} (still running when the run was stopped)", "-", ""])
    covered = sum(steps.values())
    if total:
        rows.append(["(run total; steps run one after another)", fmt_seconds(total), "100%"])
        rows.append(["(between steps: Dagster, event log)", fmt_seconds(total - covered), ""])
    return markdown_table(["step", "seconds", "share of run"], rows)


def summary_row(rows: int, label: str, runs: list[Measured], repeat: int) -> list[str]:
    ok = [m for m in runs if m.ok]
    use = ok or runs
    walls = [m.child.wall_seconds for m in use]
    spread = f"{min(walls):.1f}-{max(walls):.1f}" if len(walls) > 1 else "-"
    run_seconds = [m.run.run_seconds for m in use if m.run.run_seconds is not None]
    cpu = [m.child.cpu_seconds for m in use if m.child.cpu_seconds is not None]
    return [
        f"{rows:,}",
        label,
        fmt_seconds(_median(walls)),
        spread,
        fmt_seconds(_median(run_seconds)),
        fmt_seconds(_median(cpu)),
        fmt_bytes(max(m.child.max_rss_bytes for m in use)),
        fmt_bytes(max((m.child.tree_peak_rss_bytes or 0) for m in use) or None),
        f"{len(ok)}/{repeat}" + ("" if len(ok) == len(runs) else f" ({runs[-1].outcome})"),
    ]


SUMMARY_HEADERS = [
    "rows requested",
    "run",
    "wall s",
    "min-max s",
    "Dagster run s",
    "CPU s",
    "peak RSS (largest process)",
    "peak RSS (process tree)",
    "runs ok",
]


def verdicts(rows: int, full: list[Measured]) -> list[str]:
    lines = []
    ok = [m for m in full if m.ok]
    steps = step_medians(full)
    ranked = sorted(steps.items(), key=lambda item: -item[1])[:3]
    dominant = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in ranked)
    target = TIME_TARGETS.get(rows)
    if target is not None:
        if ok:
            wall = statistics.median(m.child.wall_seconds for m in ok)
            status = "met" if wall <= target else "MISSED"
            lines.append(
                f"{rows:,} rows: full refresh {wall:.1f} s (target <= {target:.0f} s: {status})"
                + ("" if status == "met" else f"; dominated by {dominant}")
            )
        else:
            lines.append(
                f"{rows:,} rows: full refresh did not finish ({full[-1].outcome}; target "
                f"<= {target:.0f} s: MISSED); longest steps before it stopped: "
                f"{dominant or 'none'}"
            )
    memory_target = MEMORY_TARGETS.get(rows)
    if memory_target is not None:
        peak = max((m.child.tree_peak_rss_bytes or m.child.max_rss_bytes) for m in full)
        status = "met" if peak <= memory_target else "MISSED"
        finished = "" if ok else f" (run did not finish: {full[-1].outcome})"
        lines.append(
            f"{rows:,} rows: peak RSS of the process tree {fmt_bytes(peak)} "
            f"(target <= {fmt_bytes(memory_target)}: {status}){finished}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000], help="sizes to run")
    parser.add_argument("--repeat", type=int, default=1, help="full refreshes per size")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="after the full refresh, add one day's file and refresh again (the nightly run)",
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        metavar="SIZE",
        help="DUCKDB_MEMORY_LIMIT for the runs, e.g. 4GB (DuckDB spills to disk beyond it)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per refresh")
    parser.add_argument(
        "--part-rows",
        type=int,
        metavar="N",
        help="generate sizes above N as several files of N rows (seeds 42, 43, ...), e.g. "
        "when one generator run cannot make the whole size",
    )
    parser.add_argument(
        "--overlay",
        type=Path,
        metavar="DIR",
        help="put DIR first on the runs' PYTHONPATH: a folder holding a modified copy of "
        "pipeline/ (say, with a fix) runs in place of the project's; say so when quoting",
    )
    parser.add_argument(
        "--nightly-overlay",
        type=Path,
        metavar="DIR",
        help="with --incremental, run the nightly job a second time, on a copy of the same "
        "state, with DIR (another checkout of the project) first on PYTHONPATH, and compare "
        "the two step by step",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    info = machine_info()
    print_machine(info)
    overlay = args.overlay.resolve() if args.overlay else None
    if overlay:
        print(f"# PYTHONPATH={overlay} (packages there replace the project's)")
    if args.duckdb_memory_limit:
        print(f"# DUCKDB_MEMORY_LIMIT={args.duckdb_memory_limit}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    summary, sections, all_verdicts, figures = [], [], [], []
    for rows in args.rows:
        parts = 1
        if args.part_rows and rows > args.part_rows:
            parts = -(-rows // args.part_rows)
        part_rows = -(-rows // parts)
        csv, generated = ensure_data(args.data_dir, part_rows, args.timeout)
        more = [
            ensure_data(args.data_dir, part_rows, args.timeout, seed=SEED + i)[0]
            for i in range(1, parts)
        ]
        how = "cached, generated" if generated["cached"] else "generated"
        print(
            f"\n## {rows:,} rows requested: {csv} ({generated['csv_bytes'] / 1e6:,.0f} MB; "
            f"{how} in {generated['seconds']:.1f} s: `{generated['command']}`)",
            flush=True,
        )
        if more:
            print(
                f"in {parts} files of {part_rows:,} rows, seeds {SEED}-{SEED + parts - 1} (the "
                "same customer ids recur in every file: ~the customers of one part, with "
                "histories merged)",
                flush=True,
            )
        folder = state_dir(args.data_dir, rows)
        full: list[Measured] = []
        for repetition in range(1, args.repeat + 1):
            prepare_state(folder, csv, more)
            full.append(
                run_refresh(
                    folder,
                    f"full-{repetition}",
                    timeout=args.timeout,
                    memory_limit=args.duckdb_memory_limit,
                    overlay=overlay,
                )
            )
        summary.append(summary_row(rows, "full refresh", full, args.repeat))
        steps = step_medians(full)
        total = _median([m.run.run_seconds for m in full if m.run.run_seconds])
        section = [
            f"### {rows:,} rows: full refresh, seconds per step"
            + (f" (median of {len(full)})" if len(full) > 1 else ""),
            "",
            step_table(
                steps, total, failed=full[-1].run.failed, unfinished=full[-1].run.unfinished
            ),
        ]
        phases = model_phases(full[-1].run)
        if phases:
            section += [
                "",
                f"Inside `{MODELS_STEP}` (its `step_seconds` metadata, last run):",
                "",
                markdown_table(
                    ["phase", "seconds"], [[k, fmt_seconds(v)] for k, v in phases.items()]
                ),
            ]
        incremental = nightly_comparison = None
        ingested = INGEST_STEP in full[-1].run.steps and INGEST_STEP not in full[-1].run.failed
        if args.incremental and ingested:
            new_file = write_next_day_file(csv, folder / "data" / "landing")
            log(f"  wrote {new_file['rows']:,} rows for {new_file['day']} to {new_file['path']}")
            other = folder.with_name(folder.name + "-nightly-overlay")
            if args.nightly_overlay:
                copy_state(folder, other)
            incremental = run_refresh(
                folder,
                "incremental",
                timeout=args.timeout,
                memory_limit=args.duckdb_memory_limit,
                overlay=overlay,
                job="nightly",
            )
            summary.append(summary_row(rows, "nightly (+1 day, no training)", [incremental], 1))
            if args.nightly_overlay:
                overlaid = run_refresh(
                    other,
                    "incremental-overlay",
                    timeout=args.timeout,
                    memory_limit=args.duckdb_memory_limit,
                    overlay=args.nightly_overlay.resolve(),
                    job="nightly",
                )
                nightly_comparison = (
                    f"### {rows:,} rows: the nightly run, this checkout against "
                    f"{args.nightly_overlay} on copies of the same state (run one after the "
                    "other)\n\n"
                    + compare_steps(
                        {"this checkout": incremental, str(args.nightly_overlay): overlaid}
                    )
                )
            full_ingest = steps.get(INGEST_STEP)
            new_ingest = incremental.run.steps.get(INGEST_STEP)
            ratio = full_ingest / new_ingest if full_ingest and new_ingest else None
            section += [
                "",
                f"### {rows:,} rows: incremental run, one new day's file "
                f"({new_file['rows']:,} rows, {new_file['customers']:,} customers, "
                f"{new_file['bytes'] / 1e6:.1f} MB, dated {new_file['day']}) on top of the "
                "history",
                "",
                markdown_table(
                    ["", "full refresh", "incremental", "full / incremental"],
                    [
                        [
                            "rows in the files read",
                            f"{generated['rows_requested']:,} (requested)",
                            f"{new_file['rows']:,}",
                            f"{generated['rows_requested'] / max(new_file['rows'], 1):,.0f}x",
                        ],
                        [
                            f"`{INGEST_STEP}` seconds",
                            fmt_seconds(full_ingest),
                            fmt_seconds(new_ingest),
                            f"{ratio:.1f}x" if ratio else "-",
                        ],
                        [
                            "wall seconds (process)",
                            fmt_seconds(_median([m.child.wall_seconds for m in full])),
                            fmt_seconds(incremental.child.wall_seconds),
                            "-",
                        ],
                        [
                            "Dagster run seconds",
                            fmt_seconds(total),
                            fmt_seconds(incremental.run.run_seconds),
                            "-",
                        ],
                    ],
                ),
                "",
                "Incremental run, seconds per step:",
                "",
                step_table(
                    incremental.run.steps,
                    incremental.run.run_seconds,
                    failed=incremental.run.failed,
                    unfinished=incremental.run.unfinished,
                ),
            ]
            figures_incremental = {
                "file": new_file,
                "wall_seconds": incremental.child.wall_seconds,
                "run_seconds": incremental.run.run_seconds,
                "steps": incremental.run.steps,
                "outcome": incremental.outcome,
                "max_rss_bytes": incremental.child.max_rss_bytes,
                "tree_peak_rss_bytes": incremental.child.tree_peak_rss_bytes,
            }
        else:
            figures_incremental = None
        if nightly_comparison:
            section += ["", nightly_comparison]
        sections.append("\n".join(section))
        all_verdicts += verdicts(rows, full)
        if incremental is not None and full_ingest and new_ingest:
            all_verdicts.append(
                f"{rows:,} rows: incremental `{INGEST_STEP}` {new_ingest:.2f} s vs "
                f"{full_ingest:.2f} s for the full load ({ratio:.0f}x less); whole nightly run "
                f"{incremental.child.wall_seconds:.1f} s (the steps after ingest recompute the "
                "full history by design)"
            )
        figures.append(
            {
                "rows_requested": rows,
                "generated": generated,
                "full": [
                    {
                        "wall_seconds": m.child.wall_seconds,
                        "run_seconds": m.run.run_seconds,
                        "cpu_seconds": m.child.cpu_seconds,
                        "max_rss_bytes": m.child.max_rss_bytes,
                        "tree_peak_rss_bytes": m.child.tree_peak_rss_bytes,
                        "tree_peak_processes": m.child.tree_peak_processes,
                        "outcome": m.outcome,
                        "run_id": m.run.run_id,
                        "steps": m.run.steps,
                        "unfinished": m.run.unfinished,
                        "model_phases": model_phases(m.run),
                    }
                    for m in full
                ],
                "incremental": figures_incremental,
                "state": str(folder),
            }
        )

    print("\n## Refresh job, end to end (`customer-intel refresh`)\n")
    print(markdown_table(SUMMARY_HEADERS, summary))
    print(
        "\nwall s: process start to exit (imports included); Dagster run s: RUN_START to the "
        "run's end; peak RSS (process tree): summed RSS of every process of the run, sampled "
        "every 0.2 s"
    )
    for section in sections:
        print("\n" + section)
    print("\n## Targets\n")
    for line in all_verdicts:
        print(f"- {line}")
    print(f"\nstate of the last run kept in {args.data_dir}/refresh-<rows>/")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": figures}, indent=2))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
