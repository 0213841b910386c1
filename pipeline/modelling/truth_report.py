"""The written scores against the demo truth: the rows of scores.truth_evaluation.

On demo data the generator knows what every customer did in the horizon after the data's
end (:mod:`pipeline.modelling.demo_truth`). This compares the score tables a refresh wrote
(scores.churn, scores.propensity and scores.product_propensity: the champions' scores as of
the snapshot) with it. The scores are read, not computed again, so a training run does not
score every customer twice; and what is judged is exactly what consumers read.

On any other data, or when a score table is not as of the snapshot, there is no comparison
and the note says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.modelling.champion_scoring import SCORE_TABLES, holds_snapshot, snapshot_frame
from pipeline.modelling.demo_truth import (
    CHURN_SCORES,
    PRODUCT_SCORES,
    PROPENSITY_SCORES,
    TruthComparison,
    compare_with_truth,
    load_truth,
)
from pipeline.modelling.model_report import TRUTH, metric_rows
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.modelling.training_frames import ModelWindows
from pipeline.sql_text import one_row

TRUTH_EVALUATION = "scores.truth_evaluation"
# The columns of each score table the comparison reads.
_READ = {
    CHURN_MODEL: ("customer_id", "churn_probability"),
    PROPENSITY_MODEL: ("customer_id", "purchase_probability", "predicted_spend"),
    PRODUCT_MODEL: ("customer_id", "category", "probability"),
}


@dataclass(frozen=True)
class TruthReport:
    comparison: TruthComparison | None
    versions: dict[str, str]  # model name -> the champion version that wrote its scores
    note: str
    snapshot: dt.datetime


def _written_scores(
    connection: duckdb.DuckDBPyConnection, model_name: str, snapshot: dt.datetime
) -> tuple[pd.DataFrame, str] | str:
    """(the score table's columns the comparison reads, the version that wrote them) when
    the table holds one version's scores as of ``snapshot``; else why not."""
    table = SCORE_TABLES[model_name]
    schema, name = table.split(".")
    if not holds_snapshot(connection, schema, name, snapshot):
        return f"{table} is missing, empty or not as of {snapshot:%Y-%m-%d}"
    versions, version = one_row(
        connection, f"SELECT count(DISTINCT model_version), min(model_version) FROM {table}"
    )
    if versions != 1:
        return f"{table} holds the scores of {versions} model versions"
    # In the order they were written (DuckDB keeps a table's insertion order).
    frame = connection.execute(f"SELECT {', '.join(_READ[model_name])} FROM {table}").df()
    return frame, str(version)


def scores_against_truth(
    connection: duckdb.DuckDBPyConnection,
    windows: ModelWindows,
    demo_dir: Path,
    data_end: dt.datetime,
) -> TruthReport:
    """The score tables against the demo truth (see the module docstring)."""
    truth, note = load_truth(demo_dir, windows, data_end)
    if truth is None:
        return TruthReport(None, {}, note, windows.snapshot)
    written, not_compared = {}, {}
    for name in _READ:
        scores = _written_scores(connection, name, windows.snapshot)
        (not_compared if isinstance(scores, str) else written)[name] = scores
    for name in (CHURN_MODEL, PROPENSITY_MODEL):
        if name in not_compared:
            why = f"{note}; not compared: {not_compared[name]}"
            return TruthReport(None, {}, why, windows.snapshot)
    product = written.get(PRODUCT_MODEL)
    comparison = compare_with_truth(
        truth,
        snapshot_frame(connection, windows, ()),
        written[PROPENSITY_MODEL][0],
        written[CHURN_MODEL][0],
        None if product is None else product[0],
        windows.horizon_days,
    )
    versions = {name: version for name, (_, version) in written.items()}
    return TruthReport(comparison, versions, note, windows.snapshot)


def truth_rows(report: TruthReport) -> pd.DataFrame | None:
    """The rows of scores.truth_evaluation (the columns of scores.model_evaluation, dataset
    ``truth``); None without a comparison."""
    comparison = report.comparison
    if comparison is None:
        return None
    tables = [
        (CHURN_MODEL, comparison.churn, CHURN_SCORES),
        (PROPENSITY_MODEL, comparison.propensity, PROPENSITY_SCORES),
    ]
    if comparison.product is not None:
        tables.append((PRODUCT_MODEL, comparison.product, PRODUCT_SCORES))
    return pd.concat(
        [
            metric_rows(
                table,
                model_name=name,
                model_version=report.versions[name],
                champion_version=report.versions[name],
                registered=candidate,
                dataset=TRUTH,
                window_start=report.snapshot,
            )
            for name, table, candidate in tables
        ],
        ignore_index=True,
    )
