"""The command line: step progress, the run summary, the event log file, and `dev` without
an activated virtualenv."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    asset_check,
    define_asset_job,
)

from orchestration import cli
from orchestration.progress import QUIET_CONSOLE, RunSummary, StepProgress, write_event_log


@asset(group_name="raw")
def loaded() -> MaterializeResult:
    return MaterializeResult(metadata={"dagster/row_count": 1234})


@asset(deps=[loaded], group_name="raw")
def broken() -> None:
    raise ValueError("landing/bad.csv: missing required column(s): customer_id\nmore detail")


@asset_check(asset=loaded)
def loaded_is_small() -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, metadata={"rows": 1234})


DEFS = Definitions(
    assets=[loaded, broken],
    asset_checks=[loaded_is_small],
    jobs=[define_asset_job("refresh", selection="*")],
)


@pytest.fixture
def finished_run():
    job = DEFS.resolve_job_def("refresh")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, run_config=QUIET_CONSOLE, raise_on_error=False
        )
        yield instance, result


def test_progress_shows_one_line_per_step_with_its_time_and_failure(finished_run):
    instance, result = finished_run
    lines: list[str] = []
    progress = StepProgress(instance, result.run_id, steps=3, emit=lines.append)
    progress.poll()
    assert len(lines) == 3
    assert any(line.startswith("[") and "loaded " in line and " s" in line for line in lines)
    (failure,) = [line for line in lines if "FAILED" in line]
    assert "broken" in failure and "missing required column(s): customer_id" in failure
    assert "more detail" not in failure  # the error's first line only
    progress.poll()
    assert len(lines) == 3  # each event is shown once


def test_summary_counts_tables_checks_and_failures(finished_run, tmp_path):
    instance, result = finished_run
    summary = RunSummary.of(result, seconds=1.5)
    assert not summary.success
    assert summary.tables == {"loaded": 1234}
    assert summary.checks["warned"] == 1 and summary.checks["passed"] == 0
    log = write_event_log(instance, result.run_id, tmp_path / "logs" / "run.log")
    text = summary.render(job="refresh", warehouse=Path("/w.duckdb"), event_log=log)
    assert "refresh FAILED in 1.5 s" in text
    assert "1,234 rows" in text
    assert "checks: 0 passed, 1 warned, 0 failed" in text
    assert "broken: ValueError: landing/bad.csv: missing required column(s)" in text
    assert "make dev" in text and "make dashboard" in text
    logged = log.read_text()
    assert "STEP_FAILURE broken" in logged and "ASSET_MATERIALIZATION loaded" in logged


def test_summary_names_the_champions_that_labelled_and_scored_the_tables():
    @asset(key=["segments", "customer_value"])
    def labelled() -> MaterializeResult:
        return MaterializeResult(metadata={"model": "customer_value_segments v3 (champion)"})

    @asset(key=["models", "customer_value_segments"])
    def trained() -> MaterializeResult:
        return MaterializeResult(metadata={"model": "customer_value_segments v3 (new)"})

    job = Definitions(
        assets=[labelled, trained], jobs=[define_asset_job("j", selection="*")]
    ).resolve_job_def("j")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, run_config=QUIET_CONSOLE)
    summary = RunSummary.of(result, seconds=1.0)
    assert summary.champions == {"segments/customer_value": "customer_value_segments v3 (champion)"}


def test_dev_finds_dagster_beside_the_interpreter_without_an_activated_venv(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli.dagster_executable() == str(Path(sys.executable).with_name("dagster"))


def test_dev_without_dagster_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(cli.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(SystemExit, match="make install"):
        cli.dagster_executable()


@pytest.mark.parametrize(
    ("argv", "after", "expected"),
    [
        (["refresh"], "true", [("2011-12-10", "2011-12-10", "day")]),
        (["nightly"], "true", [("2011-12-10", "2011-12-10", "day")]),
        (["demo"], "true", [("2011-06-10", "2011-12-10", "month")]),
        (["refresh"], "false", []),
    ],
)
def test_a_run_from_the_command_line_takes_the_snapshot_the_sensor_would(
    argv, after, expected, monkeypatch, tmp_path
):
    """Without the daemon, the command line takes the history snapshot that the sensor
    history_after_refresh takes after a refresh; demo also takes half a year of months."""
    import datetime as dt
    import types

    import orchestration.history

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HISTORY_AFTER_REFRESH", after)
    # `demo` sets FRESHNESS_REFERENCE_DATE unless it is set: set here, so that it is put
    # back as it was after the test (delenv records nothing for a variable not set).
    monkeypatch.setenv("FRESHNESS_REFERENCE_DATE", "")
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "sales.csv").write_text("customer_id,date,amount\n1,2011-12-09,5\n")
    ran, snapshots = [], []
    monkeypatch.setattr(
        cli, "run_job", lambda job, *a, **k: ran.append(job) or types.SimpleNamespace(success=True)
    )
    monkeypatch.setattr(
        orchestration.history, "current_snapshot_date", lambda instance: dt.date(2011, 12, 10)
    )
    monkeypatch.setattr(
        cli,
        "_history",
        lambda start, end, every, verbose: (
            snapshots.append((start.isoformat(), end.isoformat(), every)) or 0
        ),
    )
    assert cli.main(argv) == 0
    assert ran == ["nightly" if argv == ["nightly"] else "refresh"]
    assert snapshots == expected


@pytest.mark.parametrize("scenario", ["cohort", "seasonal"])
def test_generate_writes_the_chosen_scenario(scenario, monkeypatch, tmp_path):
    import duckdb

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert cli.main(["generate", "--rows", "3000", "--scenario", scenario]) == 0
    (landing,) = (tmp_path / "landing").glob("*.csv")
    columns = {
        row[0] for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{landing}')").fetchall()
    }
    # the cohort scenario has no product columns; the others keep the UCI layout
    assert ("StockCode" in columns) is (scenario != "cohort")
    assert (tmp_path / "demo" / "customer_truth.parquet").exists()


def test_quality_report_renders_stored_results(tmp_path, capsys):
    import duckdb

    from pipeline import quality
    from pipeline.catalog.ddl import create_tables_sql

    with duckdb.connect() as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute(create_tables_sql("raw.file_ledger"))
        report = quality.validate_table(
            connection,
            "raw.file_ledger",
            quality.suite_for("raw.file_ledger"),
            results_dir=tmp_path,
            html="never",
        )
    assert report.html_path is None
    assert cli.main(["quality-report", str(report.result_path)]) == 0
    page = report.result_path.with_suffix(".html")
    assert capsys.readouterr().out.strip() == str(page)
    assert "raw.file_ledger" in page.read_text(encoding="utf-8")
    assert cli.main(["quality-report", str(tmp_path / "missing.json")]) == 1
    assert "missing.json: not a stored validation result" in capsys.readouterr().err
