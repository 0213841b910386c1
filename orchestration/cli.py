"""Command line: ``customer-intel demo | refresh | generate | dev | score | serve``.

``demo`` is the embedded default: it writes generated demo transactions to
DATA_DIR/landing (only when landing holds no transaction file yet) and runs the ``refresh``
job on the persistent Dagster instance in DAGSTER_HOME, so the run shows up in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_ROWS = 500_000


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, default ./.dagster_home, with the project's dagster.yaml in it."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    project_config = PROJECT_ROOT / "dagster.yaml"
    if not config.exists() and project_config.exists():
        config.symlink_to(project_config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_refresh(tags: dict[str, str] | None = None) -> bool:
    """Execute the refresh job in this process, recorded in the DAGSTER_HOME instance."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs

    ensure_dagster_home()
    job = defs.resolve_job_def("refresh")
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, tags=tags or {}, raise_on_error=False)
    for event in result.all_events:
        if event.is_step_failure:
            print(f"step failed: {event.step_key}: {event.event_specific_data.error.message}")
    return result.success


def _generate(data_dir: Path, rows: int, seed: int, file_format: str) -> None:
    from pipeline.demo_data import write_demo_data

    write_demo_data(
        landing_dir=data_dir / "landing",
        truth_dir=data_dir / "demo",
        n_rows=rows,
        seed=seed,
        file_format=file_format,
        progress=sys.stderr.isatty(),
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


def _serve(host: str | None, port: int | None) -> int:
    from pipeline.serving.config import ApiConfigError
    from pipeline.serving.server import serve

    try:
        serve(host, port)
    except ApiConfigError as error:
        print(f"customer-intel serve: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    from pipeline.ingestion import discover_files
    from pipeline.settings import Settings

    parser = argparse.ArgumentParser(prog="customer-intel", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate demo data if landing is empty, then refresh")
    demo.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS)
    demo.add_argument("--seed", type=int, default=42)
    commands.add_parser("refresh", help="run the refresh job on DATA_DIR")
    generate = commands.add_parser("generate", help="write demo transactions to DATA_DIR/landing")
    generate.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    commands.add_parser("dev", help="start `dagster dev` (UI and daemon) on DAGSTER_HOME")
    score = commands.add_parser(
        "score", help="score the new customers of one file with the champion models"
    )
    score.add_argument("file", type=Path, help="CSV or Parquet: transactions or RFM rows")
    serve = commands.add_parser("serve", help="the HTTP API on 127.0.0.1:8000 (docs at /docs)")
    serve.add_argument("--host", help="address to bind (default API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default API_PORT or 8000)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    os.environ["DATA_DIR"] = str(settings.data_dir)
    if args.command == "generate":
        _generate(settings.data_dir, args.rows, args.seed, args.format)
        return 0
    if args.command == "score":
        return _score(args.file, settings)
    if args.command == "serve":
        return _serve(args.host, args.port)
    if args.command == "dev":
        ensure_dagster_home()
        workspace = str(PROJECT_ROOT / "workspace.yaml")
        os.execvp("dagster", ["dagster", "dev", "-w", workspace, "-h", "127.0.0.1"])
    if args.command == "demo":
        from pipeline.demo_data import DEFAULT_END_DATE

        if not discover_files(settings.landing_dir):
            _generate(settings.data_dir, args.rows, args.seed, "csv")
        # The demo's history ends in December 2011: judge freshness against that date.
        reference = DEFAULT_END_DATE + dt.timedelta(days=1)
        os.environ.setdefault("FRESHNESS_REFERENCE_DATE", reference.isoformat())
    started = time.perf_counter()
    success = run_refresh({"pipeline/trigger": args.command})
    elapsed = time.perf_counter() - started
    status = "succeeded" if success else "FAILED"
    print(f"refresh {status} in {elapsed:.1f} s; warehouse: {settings.warehouse_path}")
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
