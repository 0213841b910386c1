"""Platt maps that follow the base rate: which rows the calibration learns from.

The training rows are stacked windows a month apart; the share of customers who buy drifts
from one window to the next (a cohort thins out, a base grows, the seasons turn). A Platt
map ``P = sigmoid(a + b * score + c * years)`` fitted on the out-of-fold scores can learn:

* ``all_windows``: from every window (c = 0): the average base rate of the last year;
* ``latest_window``: from the latest labelled window only (c = 0): the latest base rate;
* ``base_rate_trend``: from every window, with the window's start (years from the latest
  window) as an input, used one horizon ahead of the latest window, where the scored
  horizon starts: the base rate's trend, extrapolated once.

Which one is kept is decided out of time, as the models are (:func:`backtest`): each map is
fitted on the windows that had been labelled one horizon before the latest window, and
scored on the latest window's rows, exactly the distance at which the final map is used.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

ALL_WINDOWS, LATEST_WINDOW, TREND = "all_windows", "latest_window", "base_rate_trend"
CALIBRATIONS: tuple[str, ...] = (ALL_WINDOWS, LATEST_WINDOW, TREND)
DAYS_PER_YEAR = 365.25


def _fit(scores: np.ndarray, y: np.ndarray, years: np.ndarray | None) -> list[float]:
    """(a, b, c) of sigmoid(a + b score + c years), nearly unpenalised."""
    inputs = scores[:, None] if years is None else np.column_stack([scores, years])
    fitted = LogisticRegression(C=1e6).fit(inputs, y)
    slope = [float(v) for v in fitted.coef_[0]]
    return [float(fitted.intercept_[0]), slope[0], slope[1] if years is not None else 0.0]


def fit_maps(scores, y, window_days, ahead_days: float) -> dict[str, dict[str, float]]:
    """Each calibration's map, as {a, b, c, years}: ``years`` is where the map is used
    (``ahead_days`` after the latest window for the trend, 0 for the others).
    ``window_days``: each row's window start, in days from the latest window (<= 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    window_days = np.asarray(window_days, dtype=np.float64)
    latest = window_days == window_days.max()
    if len(np.unique(y[latest])) < 2:
        latest = np.ones(len(y), dtype=bool)
    years = (window_days - window_days.max()) / DAYS_PER_YEAR
    trend = len(np.unique(years)) > 1
    maps = {
        ALL_WINDOWS: _fit(scores, y, None) + [0.0],
        LATEST_WINDOW: _fit(scores[latest], y[latest], None) + [0.0],
        TREND: _fit(scores, y, years if trend else None) + [ahead_days / DAYS_PER_YEAR],
    }
    return {name: dict(zip("abcy", values, strict=True)) for name, values in maps.items()}


def apply_map(platt: dict[str, float], scores) -> np.ndarray:
    """P(purchase) for uncalibrated scores by one map."""
    scores = np.asarray(scores, dtype=np.float64)
    return expit(platt["a"] + platt["b"] * scores + platt["c"] * platt["y"])


def backtest(scores, y, window_days, ahead_days: float) -> dict[str, float]:
    """Brier score of each calibration on the latest window's rows when fitted on the
    windows labelled ``ahead_days`` earlier; empty when there are no such windows or one
    side has a single outcome."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    window_days = np.asarray(window_days, dtype=np.float64)
    latest = window_days == window_days.max()
    earlier = window_days <= window_days.max() - ahead_days
    if not earlier.any() or len(np.unique(y[earlier])) < 2 or len(np.unique(y[latest])) < 2:
        return {}
    gap = float(window_days.max() - window_days[earlier].max())
    maps = fit_maps(scores[earlier], y[earlier], window_days[earlier], gap)
    return {
        name: float(brier_score_loss(y[latest], apply_map(platt, scores[latest])))
        for name, platt in maps.items()
    }
