"""The Platt maps that follow the base rate, and their out-of-time choice."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.modelling.calibration import (
    ALL_WINDOWS,
    CALIBRATIONS,
    LATEST_WINDOW,
    TREND,
    apply_map,
    backtest,
    fit_maps,
)

HORIZON = 90.0


def windows(base_rate_logit, n: int = 4000, seed: int = 5):
    """Scores and outcomes of 13 monthly windows whose base rate follows ``base_rate_logit``
    (years from the latest window -> logit), the score itself calibrated within a window."""
    rng = np.random.default_rng(seed)
    days = -30.0 * np.repeat(np.arange(13), n)
    scores = rng.normal(0.0, 1.5, days.size)
    p = 1 / (1 + np.exp(-(scores + base_rate_logit(days / 365.25))))
    return scores, rng.random(days.size) < p, days


def test_a_steady_base_rate_keeps_every_window_and_a_falling_one_follows_the_trend():
    scores, y, days = windows(lambda years: -1.0 + 0 * years)
    tested = backtest(scores, y, days, HORIZON)
    assert set(tested) == set(CALIBRATIONS)
    # nothing to follow: the map on every window is as good as the best, within noise
    assert tested[ALL_WINDOWS] <= min(tested.values()) + 5e-4

    # a cohort thinning out: years are negative before the latest window
    falling = windows(lambda years: -1.0 - 2.0 * years)
    tested = backtest(*falling, HORIZON)
    assert tested[TREND] < tested[LATEST_WINDOW] < tested[ALL_WINDOWS]
    # the trend map, used one horizon ahead, predicts the rate of that horizon
    maps = fit_maps(*falling, HORIZON)
    ahead = 1 / (1 + np.exp(-(falling[0] - 1.0 - 2.0 * HORIZON / 365.25)))
    predicted = apply_map(maps[TREND], falling[0])
    assert predicted.mean() == pytest.approx(ahead.mean(), abs=0.01)
    assert apply_map(maps[ALL_WINDOWS], falling[0]).mean() > ahead.mean() + 0.05


def test_without_earlier_windows_there_is_no_backtest():
    scores, y, days = windows(lambda years: -1.0 + 0 * years)
    latest = days == 0
    assert backtest(scores[latest], y[latest], days[latest], HORIZON) == {}
