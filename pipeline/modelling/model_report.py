"""How good the models are, as small tables the BI snapshot carries (and the dashboard reads).

The figures are the ones each run already computes (:mod:`pipeline.modelling.evaluation`,
:mod:`pipeline.modelling.demo_truth`), reshaped into rows:

* ``scores.model_evaluation``: one row per model, candidate, dataset and metric. Dataset
  ``validation`` is the held-out customers at the cutoff (the version trained in this run,
  next to its baselines and candidates). ``scores.truth_evaluation`` has the same columns,
  dataset ``truth``: the demo data's real outcomes in the horizon after the snapshot against
  the written scores (:mod:`pipeline.modelling.truth_report`).
* ``scores.calibration_curve``: observed purchase (or churn) rate per predicted-probability
  bin on the validation customers, the figures behind the calibration plot.
* ``scores.churn_coefficients``: the standardised coefficients of the churn champion.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.modelling.evaluation import Evaluation, calibration_bins
from pipeline.modelling.explanations import coefficient_table

VALIDATION = "validation"
TRUTH = "truth"


def metric_rows(
    table: pd.DataFrame,
    *,
    model_name: str,
    model_version: str,
    champion_version: str,
    registered: str,
    dataset: str,
    window_start: dt.datetime,
) -> pd.DataFrame:
    """scores.model_evaluation rows from a metrics frame (candidates as rows, metrics as
    columns, as :meth:`Evaluation.table` and the truth comparison return)."""
    long = (
        table.rename_axis("candidate")
        .reset_index()
        .melt(id_vars="candidate", var_name="metric", value_name="value")
    )
    long["value"] = long["value"].astype("float64")
    return long.assign(
        model_name=model_name,
        model_version=model_version,
        champion_version=champion_version,
        is_registered=long["candidate"] == registered,
        dataset=dataset,
        window_start=window_start,
    )


def validation_rows(
    evaluation: Evaluation,
    *,
    model_name: str,
    model_version: str,
    champion_version: str,
    registered: str,
    cutoff: dt.datetime,
) -> pd.DataFrame:
    return metric_rows(
        evaluation.table(),
        model_name=model_name,
        model_version=model_version,
        champion_version=champion_version,
        registered=registered,
        dataset=VALIDATION,
        window_start=cutoff,
    )


def calibration_rows(
    evaluation: Evaluation, *, model_name: str, model_version: str, registered: str
) -> pd.DataFrame:
    """scores.calibration_curve rows: every candidate's bins on the validation customers."""
    frames = [
        calibration_bins(evaluation.y_true, probability).assign(
            model_name=model_name,
            model_version=model_version,
            candidate=candidate,
            is_registered=candidate == registered,
            dataset=VALIDATION,
        )
        for candidate, probability in evaluation.predictions.items()
    ]
    return pd.concat(frames, ignore_index=True)


def coefficient_rows(model, *, model_name: str, model_version: str) -> pd.DataFrame:
    """scores.churn_coefficients rows of a fitted logistic pipeline, largest effect first."""
    table = coefficient_table(model)
    return table.assign(
        coefficient_rank=range(1, len(table) + 1),
        model_name=model_name,
        model_version=model_version,
    )
