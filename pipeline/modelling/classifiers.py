"""The candidate classifiers and the calibrated, self-explaining model the registry holds.

Candidates (all take the plain feature frame; see :mod:`pipeline.modelling.model_inputs`):

* ``logistic``: median imputation, standardisation, L2 logistic regression (C=1, fitted by
  Newton's method: :data:`SOLVER`).
* ``gradient_boosting``: HistGradientBoostingClassifier on the same inputs (it handles
  missing values itself): 100 trees of at most 15 leaves, learning rate 0.1, at least 40
  customers per leaf, L2 1.0; no early stopping, so a run is reproducible.
* ``bgnbd_trading_clock``: BG/NBD alone, in trading days.
* ``pareto_nbd_trading_clock``: Pareto/NBD alone, in trading days.

:class:`CalibratedModel` is what gets registered: the selected candidate, Platt-calibrated
(sigmoid) by cross-fitting over customers: :data:`CALIBRATION_FOLDS` fold models, each
fitted without one third of the training customers (all their windows) and side by side,
one per core (:func:`pipeline.threads.fit_each`), score the held-out rows; a logistic map from
those out-of-fold scores to the outcome is the calibration, fitted on every window's rows,
on the latest labelled window's only, or on every window with the window's date as an
input and extrapolated one horizon (the share of buyers drifts from window to window; see
:mod:`pipeline.modelling.calibration`, which also picks one out of time); the candidate
itself is fitted
on all training rows (what ``CalibratedClassifierCV(method="sigmoid", ensemble=False)``
does, done by hand so the out-of-fold probabilities also serve predicted-vs-actual). It
carries a logistic explainer whose contributions give the reasons; when the logistic
candidate is selected the explainer is the model itself, and its contributions sum to the
logit before calibration (the Platt map is monotone, so the reasons keep their order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.modelling.calibration import (
    CALIBRATIONS,
    LATEST_WINDOW,
    apply_map,
    backtest,
    fit_maps,
)
from pipeline.modelling.explanations import Contributions, linear_contributions
from pipeline.modelling.median_imputer import MedianImputer
from pipeline.modelling.model_inputs import (
    BEHAVIOUR_FEATURES,
    BGNBDClassifier,
    ModelInputs,
    ParetoNBDClassifier,
)
from pipeline.threads import fit_each

# Newton steps with a Cholesky solve: the solver scikit-learn advises when there are far more
# rows than columns, as here (hundreds of thousands of customer windows, about 20 inputs). It
# converges in a handful of iterations to the optimum L-BFGS stops short of (at its default
# tolerance); on the 10M-row training windows each fit takes 40-60 % less CPU and the
# validation Brier scores were the same or lower (benchmarks/RESULTS.md).
SOLVER = "newton-cholesky"

CANDIDATES: tuple[str, ...] = (
    "logistic",
    "gradient_boosting",
    "bgnbd_trading_clock",
    "pareto_nbd_trading_clock",
)


def logistic_pipeline(
    *, btyd: bool = True, features: tuple[str, ...] = BEHAVIOUR_FEATURES, C: float = 1.0
) -> Pipeline:
    return Pipeline(
        [
            ("inputs", ModelInputs(features=features, btyd=btyd)),
            ("impute", MedianImputer()),
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(C=C, solver=SOLVER, max_iter=2000)),
        ]
    ).set_output(transform="pandas")


def boosting_pipeline(*, random_state: int = 42) -> Pipeline:
    return Pipeline(
        [
            ("inputs", ModelInputs(btyd=True)),
            (
                "classifier",
                HistGradientBoostingClassifier(
                    learning_rate=0.1,
                    max_iter=100,
                    max_leaf_nodes=15,
                    min_samples_leaf=40,
                    l2_regularization=1.0,
                    early_stopping=False,
                    random_state=random_state,
                ),
            ),
        ]
    ).set_output(transform="pandas")


def candidate(kind: str, *, random_state: int = 42):
    if kind == "logistic":
        return logistic_pipeline(btyd=True)
    if kind == "gradient_boosting":
        return boosting_pipeline(random_state=random_state)
    if kind == "bgnbd_trading_clock":
        return BGNBDClassifier(trading_time=True)
    if kind == "pareto_nbd_trading_clock":
        return ParetoNBDClassifier(trading_time=True)
    raise ValueError(f"unknown candidate {kind!r}; expected one of {CANDIDATES}")


# Three folds, not five: the out-of-fold scores only feed the Platt maps, and each fold model
# is fitted on two thirds of the rows instead of four fifths, so the selected candidate's
# fold fits cost about 60 % of five folds' (gradient boosting on the 10M demo's 250,000 capped
# rows: 9.0 s against 14.6 s) for the same validation figures in every demo scenario
# (benchmarks/RESULTS.md, "calibration on three folds").
CALIBRATION_FOLDS = 3


def customer_folds(y, groups, n_splits: int, random_state: int) -> list:
    """Folds that keep each customer's windows together (stratified when groups is None)."""
    y = np.asarray(y)
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros(len(y)), y))
    # Integer codes, not the ids: GroupKFold tests fold membership with np.isin, which on
    # an object array of customer ids compares Python objects (slow: benchmarks/RESULTS.md).
    _, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y, groups=codes))


def decision_scores(model, X: pd.DataFrame) -> np.ndarray:
    """The model's score on the logit scale (what Platt scaling maps to a probability)."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=np.float64)
    p = np.clip(model.predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class CalibratedModel(ClassifierMixin, BaseEstimator):
    """A Platt-calibrated candidate with a logistic explainer (see the module docstring)."""

    def __init__(
        self, kind: str = "logistic", folds: int = CALIBRATION_FOLDS, random_state: int = 42
    ):
        self.kind = kind
        self.folds = folds
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y, groups=None, window_days=None, ahead_days: float = 0.0):
        self.fit_out_of_fold(X, y, groups, window_days=window_days, ahead_days=ahead_days)
        return self

    def fit_out_of_fold(
        self,
        X: pd.DataFrame,
        y,
        groups=None,
        *,
        fitted=None,
        explainer=None,
        window_days=None,
        ahead_days: float = 0.0,
    ) -> np.ndarray:
        """Fit, and return the out-of-fold score (logit scale) of every training row
        (:meth:`calibrate` maps them to probabilities).

        Each fold's candidate is fitted without the fold's customers; the candidate itself
        on all rows (``fitted``: an already fitted candidate of this kind on the same rows,
        to save a fit; ``explainer``: the same for the logistic candidate). The Platt maps
        of :mod:`pipeline.modelling.calibration` are fitted on the out-of-fold scores
        (``window_days``: each row's window start in days from the latest window;
        ``ahead_days``: where the scored horizon starts, from the same) and the one with
        the best backtest is used (``calibration_backtest_`` holds the
        figures; when there is no backtest, the latest window's map until
        :meth:`use_calibration` picks another).
        """
        y = np.asarray(y, dtype=bool)
        base = candidate(self.kind, random_state=self.random_state)
        folds = customer_folds(y, groups, self.folds, self.random_state)

        def fold_scores(fold: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            fit_rows, held_out = fold
            fold_model = clone(base).fit(X.iloc[fit_rows], y[fit_rows])
            return decision_scores(fold_model, X.iloc[held_out])

        scores = np.empty(len(y))
        # The fold models are independent: side by side, one per core.
        for (_, held_out), held_out_scores in zip(folds, fit_each(fold_scores, folds), strict=True):
            scores[held_out] = held_out_scores
        window_days = np.zeros(len(y)) if window_days is None else window_days
        self.calibrators_ = fit_maps(scores, y, window_days, ahead_days)
        self.calibration_backtest_ = backtest(scores, y, window_days, ahead_days)
        tested = self.calibration_backtest_
        self.use_calibration(min(tested, key=tested.get) if tested else LATEST_WINDOW)
        self.estimator_ = fitted if fitted is not None else clone(base).fit(X, y)
        if self.kind == "logistic":
            self.explainer_ = self.estimator_
        else:
            self.explainer_ = (
                explainer if explainer is not None else logistic_pipeline(btyd=True).fit(X, y)
            )
        self.classes_ = np.array([False, True])
        return scores

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities from uncalibrated scores, by the Platt map in use."""
        if not hasattr(self, "platt_"):  # a model registered before the choice of maps
            return self.calibrator_.predict_proba(np.asarray(scores, np.float64)[:, None])[:, 1]
        return apply_map(self.platt_, scores)

    def use_calibration(self, name: str) -> CalibratedModel:
        """Map scores to probabilities with the Platt map ``name``."""
        if name not in self.calibrators_:
            raise ValueError(f"unknown calibration {name!r}; expected one of {CALIBRATIONS}")
        self.calibration_ = name
        self.platt_ = self.calibrators_[name]
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The uncalibrated score (logit scale) of the selected candidate."""
        return decision_scores(self.estimator_, X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.calibrate(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5

    def explain(self, X: pd.DataFrame) -> Contributions:
        return linear_contributions(self.explainer_, X)

    def bgnbd_outputs(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.explainer_.named_steps["inputs"].bgnbd_outputs(X)


def uncalibrated(kind: str, X: pd.DataFrame, y, *, random_state: int = 42):
    """Fit one candidate as it is (for the comparison before calibration)."""
    return clone(candidate(kind, random_state=random_state)).fit(X, np.asarray(y, dtype=bool))
