"""scores.truth_evaluation's inputs: the written score tables, judged only when they are the
snapshot's (pipeline.modelling.truth_report); the figures themselves are compared with a
fresh scoring in tests/test_models_pipeline.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.demo import TRUTH_FILE
from pipeline.modelling.training_frames import resolve_windows
from pipeline.modelling.truth_report import scores_against_truth, truth_rows

SNAPSHOT = dt.datetime(2011, 12, 10)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "purchased_in_horizon": [True, False],
            "future_spend": [10.0, 0.0],
            "future_categories": ["BAGS", None],
        }
    ).to_parquet(folder / TRUTH_FILE)
    return folder


def _scores(connection, table: str, probability: str, rows: list[tuple[str, str, dt.datetime]]):
    connection.execute("CREATE SCHEMA IF NOT EXISTS scores")
    connection.execute(
        f"CREATE OR REPLACE TABLE {table} (customer_id VARCHAR, {probability} DOUBLE, "
        "predicted_spend DOUBLE, model_version VARCHAR, as_of TIMESTAMP)"
    )
    for customer, version, as_of in rows:
        connection.execute(
            f"INSERT INTO {table} VALUES (?, 0.5, 1.0, ?, ?)", [customer, version, as_of]
        )


def test_no_comparison_without_a_demo_truth(tmp_path):
    connection = duckdb.connect()
    report = scores_against_truth(
        connection, resolve_windows(SNAPSHOT, 90), tmp_path / "nothing", SNAPSHOT
    )
    assert report.comparison is None and truth_rows(report) is None
    assert "no demo truth" in report.note


def test_no_comparison_when_a_score_table_is_missing_or_of_another_date(demo_dir):
    connection = duckdb.connect()
    windows = resolve_windows(SNAPSHOT, 90)
    _scores(connection, "scores.propensity", "purchase_probability", [("A", "3", SNAPSHOT)])
    missing = scores_against_truth(connection, windows, demo_dir, SNAPSHOT)
    assert missing.comparison is None
    assert "scores.churn is missing, empty or not as of 2011-12-10" in missing.note
    yesterday = SNAPSHOT - dt.timedelta(days=1)
    _scores(connection, "scores.churn", "churn_probability", [("A", "2", yesterday)])
    stale = scores_against_truth(connection, windows, demo_dir, SNAPSHOT)
    assert stale.comparison is None and "scores.churn" in stale.note


def test_no_comparison_of_scores_written_by_two_versions(demo_dir):
    connection = duckdb.connect()
    _scores(connection, "scores.churn", "churn_probability", [("A", "2", SNAPSHOT)])
    _scores(
        connection,
        "scores.propensity",
        "purchase_probability",
        [("A", "3", SNAPSHOT), ("B", "4", SNAPSHOT)],
    )
    report = scores_against_truth(connection, resolve_windows(SNAPSHOT, 90), demo_dir, SNAPSHOT)
    assert report.comparison is None
    assert "scores.propensity holds the scores of 2 model versions" in report.note
