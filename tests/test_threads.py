"""Fits side by side (pipeline.threads.fit_each) give what one after the other gives."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

import pipeline.modelling.classifiers as classifiers
import pipeline.modelling.product_propensity as product
from pipeline import threads
from pipeline.modelling.classifiers import CalibratedModel
from pipeline.modelling.model_inputs import BEHAVIOUR_FEATURES, model_input_frame
from pipeline.modelling.training_frames import bought_column, season_column, share_column

CATEGORIES = ("CANDLES", "BAGS", "CLOCKS", "GARDEN", "KITCHEN")


def test_fit_each_keeps_the_order_and_uses_a_thread_per_core(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    seen = set()
    started = threading.Barrier(2, timeout=10)

    def work(item: int) -> int:
        seen.add(threading.get_ident())
        if item < 2:
            started.wait()  # the first two items run at the same time, or this times out
        return item * item

    assert threads.fit_each(work, range(7)) == [i * i for i in range(7)]
    # two workers; the seventh item, alone after three rounds, runs in the caller
    assert len(seen - {threading.get_ident()}) == 2


def test_the_fits_left_after_the_whole_rounds_share_the_cores(monkeypatch):
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the trees use)

    monkeypatch.setattr(threads, "usable_cores", lambda: 2)

    def openmp_threads(_) -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"}

    # Three calibration folds on two cores: two side by side, then the third on both cores.
    assert threads.fit_each(openmp_threads, range(3)) == [{1}, {1}, {2}]
    assert threads.fit_each(openmp_threads, range(4)) == [{1}] * 4


def test_fit_each_on_one_core_runs_in_the_caller(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    assert (
        threads.fit_each(lambda _: threading.get_ident(), range(3)) == [threading.get_ident()] * 3
    )


def _customers(n: int = 4000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({column: rng.gamma(2.0, 10.0, n) for column in BEHAVIOUR_FEATURES}).astype(
        np.float64
    )
    frame["frequency"] = rng.integers(1, 30, n).astype(np.float64)
    frame["recency_days"] = rng.integers(0, 365, n).astype(np.float64)
    frame["tenure_days"] = frame["recency_days"] + rng.integers(0, 365, n)
    frame["trading_recency_days"] = frame["recency_days"] * 0.8
    frame["trading_tenure_days"] = frame["tenure_days"] * 0.8
    frame["horizon_trading_days"] = 72.0
    frame.loc[rng.random(n) < 0.1, "median_unit_price"] = np.nan  # imputed
    outcomes = {}
    for category in CATEGORIES:
        share = rng.beta(1.0, 4.0, n)
        frame[share_column(category)] = share
        frame[season_column(category)] = rng.normal(1.0, 0.2, n)
        outcomes[bought_column(category)] = rng.random(n) < 0.1 + 0.6 * share
    return frame, pd.DataFrame(outcomes)


def test_product_model_side_by_side_equals_one_after_the_other(monkeypatch):
    frame, outcomes = _customers()
    X = product.product_input_frame(frame, CATEGORIES)

    @threads.single_blas_thread
    def fitted():
        return product.CategoryPropensityModel(categories=CATEGORIES).fit(X, outcomes)

    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    side_by_side = fitted()
    monkeypatch.setattr(product, "fit_each", lambda fit, items: [fit(i) for i in items])
    one_after_another = fitted()
    assert side_by_side.categories_ == one_after_another.categories_ == CATEGORIES
    for category in CATEGORIES:
        a, b = side_by_side.models_[category], one_after_another.models_[category]
        assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert np.array_equal(side_by_side.predict_proba(X), one_after_another.predict_proba(X))


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting"])
def test_out_of_fold_scores_side_by_side_equal_one_after_the_other(monkeypatch, kind):
    frame, outcomes = _customers(n=3000, seed=5)
    X = model_input_frame(frame)
    y = outcomes[bought_column("CANDLES")].to_numpy()
    groups = np.array([f"C{i // 2}" for i in range(len(y))], dtype=object)  # two rows each

    @threads.single_blas_thread
    def scores():
        return CalibratedModel(kind=kind).fit_out_of_fold(X, y, groups)

    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    side_by_side = scores()
    monkeypatch.setattr(classifiers, "fit_each", lambda fit, items: [fit(i) for i in items])
    assert np.array_equal(side_by_side, scores())
