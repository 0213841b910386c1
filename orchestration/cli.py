"""Command line: ``customer-intel demo | refresh | nightly | generate | score | retract |
history | dev | serve``.

``demo`` is the embedded default: it writes generated demo transactions to
DATA_DIR/landing (only when landing holds no transaction file yet) and runs the ``refresh``
job on the persistent Dagster instance in DAGSTER_HOME, so the run shows up in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_ROWS = 500_000


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, default ./.dagster_home, with the project's dagster.yaml in it and
    its storage created. Two commands started at once on a new home would both create the
    instance's SQLite tables, and one would fail ("table instance_info already exists"):
    the set-up holds a file lock."""
    from dagster import DagsterInstance

    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    with open(home / ".setup.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        config = home / "dagster.yaml"
        project_config = PROJECT_ROOT / "dagster.yaml"
        if not config.exists() and project_config.exists():
            config.symlink_to(project_config)
        DagsterInstance.get().dispose()
    return home


def dagster_executable() -> str:
    """The ``dagster`` command of this interpreter's environment (no activated virtualenv
    needed), else one on PATH; a clear error when there is none."""
    beside = Path(sys.executable).with_name("dagster")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dagster")
    if found:
        return found
    raise SystemExit(
        f"no `dagster` command next to {sys.executable} nor on PATH: install the project "
        "first (`make install`), or run `.venv/bin/customer-intel dev`"
    )


def run_job(
    job_name: str = "refresh",
    tags: dict[str, str] | None = None,
    *,
    verbose: bool = False,
    run_config: dict | None = None,
    emit=print,
    asset_selection=None,
):
    """Execute ``job_name`` in this process, recorded in the DAGSTER_HOME instance: a line
    per step while it runs, the event log in DATA_DIR/logs/, a summary at the end. Returns
    the Dagster result. A run already writing the warehouse is waited for (its run lock)."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.progress import (
        QUIET_CONSOLE,
        RunSummary,
        StepProgress,
        write_event_log,
    )
    from pipeline.settings import Settings
    from resources.run_lock import current_holder

    ensure_dagster_home()
    settings = Settings.from_env()
    job = defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    event_log = settings.data_dir / "logs" / f"{job_name}-{run_id[:8]}.log"
    with DagsterInstance.get() as instance:
        holder = current_holder(settings.warehouse_path)
        if holder:
            # The run's warehouse resource waits for the lock (asleep, Ctrl-C stops it).
            emit(f"waiting for {holder} to finish: it holds the warehouse's run lock")
        steps = len(job.graph.node_dict)
        emit(f"{job_name}: {steps} steps, run {run_id} (DAGSTER_HOME={instance.root_directory})")
        progress = StepProgress(instance, run_id, steps, emit=emit)
        if not verbose:
            progress.start()
        started = time.perf_counter()
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            tags=tags or {},
            run_config={**({} if verbose else QUIET_CONSOLE), **(run_config or {})},
            raise_on_error=False,
            asset_selection=asset_selection,
        )
        seconds = time.perf_counter() - started
        if not verbose:
            progress.stop()
        write_event_log(instance, run_id, event_log)
    summary = RunSummary.of(result, seconds)
    emit(summary.render(job=job_name, warehouse=settings.warehouse_path, event_log=event_log))
    return result


def _generate(data_dir: Path, rows: int, seed: int, file_format: str, scenario: str) -> None:
    from pipeline.demo import write_demo_data

    write_demo_data(
        landing_dir=data_dir / "landing",
        truth_dir=data_dir / "demo",
        n_rows=rows,
        seed=seed,
        file_format=file_format,
        progress=sys.stderr.isatty(),
        scenario=scenario,
    )


def _score(path: Path, settings) -> int:
    """Score one file's customers, append them to marts.prediction_log, print the result."""
    from pipeline.live_scoring import LOG_TABLE, score_with_settings
    from resources.mlflow_tracking import ModelTracking
    from resources.warehouse import warehouse_from_env

    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    tracking = ModelTracking()
    with warehouse_from_env().writer() as connection:
        report = score_with_settings(
            connection,
            [path],
            settings,
            client=tracking.client(),
            tracking_uri=tracking.resolved_tracking_uri,
        )
        print(
            connection.execute(
                "SELECT customer_id, value_segment, persona, churn_risk_pct, "
                "round(purchase_probability, 3) AS purchase_probability, expected_spend, action "
                f"FROM {LOG_TABLE} WHERE source = $source ORDER BY predicted_at, customer_id",
                {"source": path.name},
            )
            .df()
            .to_string(index=False)
        )
    print(
        f"scored {report.scored} customers ({report.already_scored} already logged) "
        f"in {report.seconds:.2f} s"
    )
    return 0


def _quality_report(results: list[Path]) -> int:
    """Render each stored validation result as HTML beside it; print where."""
    from pipeline.quality import render_html

    failed = 0
    for path in results:
        try:
            print(render_html(path))
        except ValueError as error:
            print(f"customer-intel quality-report: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _serve(host: str | None, port: int | None) -> int:
    from pipeline.serving.config import ApiConfigError
    from pipeline.serving.server import serve

    try:
        serve(host, port)
    except ApiConfigError as error:
        print(f"customer-intel serve: {error}", file=sys.stderr)
        return 2
    return 0


def _history(start: dt.date, end: dt.date, every: str, verbose: bool) -> int:
    """A backfill of the history in one run; when it is thinned to weekly or monthly dates,
    the migration marts and the BI snapshot follow in a second run."""
    from orchestration.history import HISTORY_FOLLOWERS, HISTORY_KEY, backfill_run

    tags, run_config = backfill_run(start, end, every)
    tags = {"pipeline/trigger": "history", **tags}
    thinned = every != "day"
    result = run_job(
        "history_snapshot",
        tags,
        verbose=verbose,
        run_config=run_config,
        asset_selection=[HISTORY_KEY] if thinned else None,
    )
    if thinned and result is not None and result.success:
        result = run_job(
            "history_snapshot", tags, verbose=verbose, asset_selection=list(HISTORY_FOLLOWERS)
        )
    return 0 if result is not None and result.success else 1


DEMO_HISTORY_MONTHS = 6


def _history_after(command: str, verbose: bool) -> int:
    """What the sensor ``history_after_refresh`` does under the daemon, for a run made
    here: the snapshot of the features' date (HISTORY_AFTER_REFRESH). ``demo`` also takes
    the monthly snapshots of the half year before it, so the History page has something to
    compare from the first run."""
    from dagster import DagsterInstance

    from orchestration.history import current_snapshot_date
    from pipeline.history import shift_months
    from pipeline.settings import Settings

    if not Settings.from_env().history_after_refresh:
        return 0
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        day = current_snapshot_date(instance)
    if day is None:
        return 0
    if command == "demo":
        return _history(shift_months(day, -DEMO_HISTORY_MONTHS), day, "month", verbose)
    return _history(day, day, "day", verbose)


def main(argv: list[str] | None = None) -> int:
    from pipeline.demo.scenarios import DEFAULT_SCENARIO, SCENARIOS
    from pipeline.ingest import discover_files
    from pipeline.settings import Settings

    parser = argparse.ArgumentParser(prog="customer-intel", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate demo data if landing is empty, then refresh")
    demo.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--verbose", action="store_true", help="print Dagster's event log")
    for name, text in (
        ("refresh", "ingest, rebuild and retrain everything now (job `refresh`)"),
        ("nightly", "ingest and rebuild with the champion models, no training (job `nightly`)"),
    ):
        job = commands.add_parser(name, help=text)
        job.add_argument("--verbose", action="store_true", help="print Dagster's event log")
    generate = commands.add_parser("generate", help="write demo transactions to DATA_DIR/landing")
    generate.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    for parser_with_data in (demo, generate):
        parser_with_data.add_argument(
            "--scenario",
            choices=tuple(SCENARIOS),
            default=DEFAULT_SCENARIO,
            help="retail (default): a UCI-like retailer; cohort: one cohort acquired in a "
            "quarter, no product columns; seasonal: a strongly seasonal retailer",
        )
    commands.add_parser("dev", help="start `dagster dev` (UI and daemon) on DAGSTER_HOME")
    score = commands.add_parser(
        "score", help="score the new customers of one file with the champion models"
    )
    score.add_argument("file", type=Path, help="CSV or Parquet: transactions or RFM rows")
    retract = commands.add_parser("retract", help="take back loaded landing files, then refresh")
    retract.add_argument("files", nargs="+", help="as in raw.file_ledger (or a path in landing)")
    retract.add_argument("--verbose", action="store_true", help="print Dagster's event log")
    history = commands.add_parser(
        "history", help="snapshot the customers as of past dates (job `history_snapshot`)"
    )
    history.add_argument("--from", dest="start", required=True, type=dt.date.fromisoformat)
    history.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="default --from")
    history.add_argument("--every", choices=["day", "week", "month"], default="day")
    history.add_argument("--verbose", action="store_true", help="print Dagster's event log")
    report = commands.add_parser(
        "quality-report", help="write GX's HTML page of stored validation results (.json)"
    )
    report.add_argument("results", nargs="+", type=Path, help="files in DATA_DIR/quality")
    serve = commands.add_parser("serve", help="the HTTP API on 127.0.0.1:8000 (docs at /docs)")
    serve.add_argument("--host", help="address to bind (default API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default API_PORT or 8000)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    os.environ["DATA_DIR"] = str(settings.data_dir)
    if args.command == "generate":
        _generate(settings.data_dir, args.rows, args.seed, args.format, args.scenario)
        return 0
    if args.command == "score":
        return _score(args.file, settings)
    if args.command == "serve":
        return _serve(args.host, args.port)
    if args.command == "quality-report":
        return _quality_report(args.results)
    if args.command == "history":
        return _history(args.start, args.end or args.start, args.every, args.verbose)
    if args.command == "dev":
        ensure_dagster_home()
        workspace = str(PROJECT_ROOT / "workspace.yaml")
        executable = dagster_executable()
        os.execv(executable, [executable, "dev", "-w", workspace, "-h", "127.0.0.1"])
    if args.command == "demo":
        from pipeline.demo import DEFAULT_END_DATE

        if not discover_files(settings.landing_dir):
            _generate(settings.data_dir, args.rows, args.seed, "csv", args.scenario)
        # The demo's history ends in December 2011: judge freshness against that date.
        reference = DEFAULT_END_DATE + dt.timedelta(days=1)
        os.environ.setdefault("FRESHNESS_REFERENCE_DATE", reference.isoformat())
    job_name = "nightly" if args.command == "nightly" else "refresh"
    run_config = None
    if args.command == "retract":
        from pipeline.ingest import ledger_name

        names = [ledger_name(f, settings.landing_dir) for f in args.files]
        run_config = {"ops": {"raw_ingest": {"config": {"retract": names}}}}
    result = run_job(
        job_name, {"pipeline/trigger": args.command}, verbose=args.verbose, run_config=run_config
    )
    if result is None or not result.success:
        return 1
    return _history_after(args.command, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
