"""How good a probability is: discrimination, accuracy and calibration, and the plot.

* ROC-AUC and PR-AUC (average precision): does the model rank buyers above non-buyers.
* Brier score (mean squared error of the probability) and log loss: is each probability
  close to what happened. Model selection and champion/challenger use the Brier score.
* Expected calibration error (ECE): customers binned into 10 equal-width probability bins;
  the share-weighted mean of |observed rate - mean predicted probability| per bin. The same
  bins (:func:`calibration_bins`) draw the calibration plot and fill scores.calibration_curve.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
CALIBRATION_BINS = 10
MIN_PLOTTED_BIN = 5  # customers a bin needs to be drawn


def calibration_bins(y_true, probability, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """One row per non-empty equal-width probability bin: ``bin`` (0 = [0, 0.1)),
    ``bin_lower``, ``bin_upper``, ``mean_predicted``, ``observed_rate`` and ``customers``."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            rows.append(
                {
                    "bin": b,
                    "bin_lower": b / bins,
                    "bin_upper": (b + 1) / bins,
                    "mean_predicted": float(p[in_bin].mean()),
                    "observed_rate": float(y[in_bin].mean()),
                    "customers": int(in_bin.sum()),
                }
            )
    columns = ["bin", "bin_lower", "bin_upper", "mean_predicted", "observed_rate", "customers"]
    return pd.DataFrame(rows, columns=columns)


def expected_calibration_error(y_true, probability, bins: int = CALIBRATION_BINS) -> float:
    table = calibration_bins(y_true, probability, bins)
    if table.empty:
        return 0.0
    gap = (table["observed_rate"] - table["mean_predicted"]).abs()
    return float((table["customers"] * gap).sum() / table["customers"].sum())


def classification_metrics(y_true, probability) -> dict[str, float]:
    """The five figures, plus size, outcome rate and mean prediction; AUCs are NaN when
    only one outcome occurs."""
    y = np.asarray(y_true, dtype=bool)
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[False, True])),
        "ece": expected_calibration_error(y, p),
        "customers": float(len(y)),
        "outcome_rate": float(y.mean()) if len(y) else math.nan,
        "mean_probability": float(p.mean()) if len(p) else math.nan,
    }


@dataclass(frozen=True)
class Evaluation:
    """Metrics of several models on the same customers, and their predictions."""

    y_true: np.ndarray
    predictions: dict[str, np.ndarray]

    # Computed once: a training run reads them for the selection, MLflow, the report tables
    # and the asset's metadata (the product model's run ranks ~200k cells on each read).
    @cached_property
    def metrics(self) -> dict[str, dict[str, float]]:
        return {
            name: classification_metrics(self.y_true, p) for name, p in self.predictions.items()
        }

    def flat_metrics(self, prefix: str = "") -> dict[str, float]:
        """``{prefix}{model}_{metric}`` for MLflow (NaN left out)."""
        return {
            f"{prefix}{name}_{metric}": value
            for name, figures in self.metrics.items()
            for metric, value in figures.items()
            if not math.isnan(value)
        }

    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.metrics).T
        return frame[[*METRICS, "customers", "outcome_rate", "mean_probability"]]


def metrics_markdown(table: pd.DataFrame, note: Mapping[str, str] | None = None) -> str:
    """A Markdown table of a metrics frame (models as rows), 4 decimals."""
    columns = [c for c in table.columns]
    lines = ["| model | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if column == "customers":
                cells.append(f"{int(value):,}")
            else:
                cells.append("n/a" if pd.isna(value) else f"{value:.4f}")
        label = f"{name} ({note[name]})" if note and name in note else str(name)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration_plot(y_true, predictions: Mapping[str, np.ndarray], path: Path, title: str) -> Path:
    """Reliability diagram (observed rate per probability bin) for each model, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    figure, axis = plt.subplots(figsize=(6, 5), dpi=100)
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for name, probability in predictions.items():
        table = calibration_bins(y_true, probability)
        shown = table[table["customers"] >= MIN_PLOTTED_BIN]
        axis.plot(
            shown["mean_predicted"], shown["observed_rate"], marker="o", linewidth=1.5, label=name
        )
    axis.set_xticks(edges[::2])
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("predicted probability (bin mean)")
    axis.set_ylabel("observed rate")
    axis.set_title(title)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
