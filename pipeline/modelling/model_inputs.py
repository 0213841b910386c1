"""What the models see: customer features, log-scaled where skewed, plus BG/NBD features.

:class:`ModelInputs` is the first step of every model pipeline, so a registered model takes
the plain feature frame (the columns of :func:`pipeline.features.customer_features` plus the
trading-clock columns) and does its own preparation; scoring needs no other code path.

* Behaviour features: recency, frequency, monetary value, tenure, order value, basket size,
  returns, product breadth and purchase gaps. Skewed counts and amounts enter as
  log(1 + value) (negative net spend as 0). Columns that are empty in the training data
  (distinct_products without stock codes) are dropped at fit time.
* ``horizon_trading_days``: how busy the coming horizon is on the trading clock (the season).
* Rhythm features (when ``rhythm=True``): recency measured in the customer's own mean gap
  between orders, the gaps' variation and recency as a share of tenure
  (:func:`rhythm_features`): a weekly buyer silent for a month is late, a quarterly one is
  not.
* BG/NBD features (when ``btyd=True``): the model of :mod:`pipeline.modelling.btyd` fitted
  on the training rows in trading time, then per customer P(alive), P(purchase in the
  horizon) (as a logit) and expected orders in the horizon (as a log).

:class:`BGNBDClassifier` is BG/NBD alone as a classifier: P(at least one purchase in the
horizon). In calendar days it is the textbook baseline every run reports; in trading days it
is a candidate model. :class:`ParetoNBDClassifier` is the same for the Pareto/NBD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from pipeline.modelling import btyd

BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_order_value",
    "avg_basket_quantity",
    "return_rate",
    "purchase_lines",
    "median_unit_price",
    "distinct_products",
    "distinct_categories",
    "mean_days_between_purchases",
    "std_days_between_purchases",
    "units_per_line_cv",
)
SEASON_FEATURES: tuple[str, ...] = ("horizon_trading_days",)
# The customer's own purchase rhythm, derived from the behaviour columns (see rhythm_features).
RHYTHM_FEATURES: tuple[str, ...] = (
    "recency_over_mean_gap",
    "gap_variation",
    "recency_share_of_tenure",
)
TRADING_TIME_COLUMNS: tuple[str, ...] = (
    "trading_recency_days",
    "trading_tenure_days",
    "horizon_trading_days",
)
LOG_SCALED = frozenset(
    {
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "avg_order_value",
        "avg_basket_quantity",
        "purchase_lines",
        "median_unit_price",
        "distinct_products",
        "distinct_categories",
        "mean_days_between_purchases",
        "std_days_between_purchases",
        "trading_recency_days",
        "trading_tenure_days",
        "recency_over_mean_gap",
    }
)
BTYD_FEATURES: tuple[str, ...] = ("bgnbd_p_alive", "bgnbd_p_purchase", "bgnbd_expected_orders")
# The columns a model's input frame must carry (the signature logged with each model).
INPUT_COLUMNS: tuple[str, ...] = (*BEHAVIOUR_FEATURES, *TRADING_TIME_COLUMNS)

_EPS = 1e-6


def model_input_frame(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The input columns of ``frame`` as float64 (nulls as NaN), in a fixed order."""
    columns = [*INPUT_COLUMNS, *extra]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the feature frame lacks the model input columns {missing}")
    values = {}
    for column in columns:
        series = frame[column]
        if series.dtype != np.float64:
            series = pd.to_numeric(series, errors="coerce").astype(np.float64)
        values[column] = series.to_numpy(copy=True)
    return pd.DataFrame(values, index=frame.index)


def rhythm_features(X: pd.DataFrame) -> pd.DataFrame:
    """The customer's own rhythm, NaN for customers with a single order (no gap yet):

    * ``recency_over_mean_gap``: days since the last order / the customer's mean days
      between orders (1: an order is due now; 3: three usual gaps have passed in silence);
    * ``gap_variation``: std / mean of the days between orders (0: clockwork);
    * ``recency_share_of_tenure``: days since the last order / days since the first.
    """
    gap = X["mean_days_between_purchases"].where(X["mean_days_between_purchases"] > 0)
    tenure = X["tenure_days"].where(X["tenure_days"] > 0)
    return pd.DataFrame(
        {
            "recency_over_mean_gap": X["recency_days"] / gap,
            "gap_variation": X["std_days_between_purchases"] / gap,
            "recency_share_of_tenure": (X["recency_days"] / tenure).clip(upper=1.0),
        },
        index=X.index,
    )


def bgnbd_inputs(X: pd.DataFrame, *, trading_time: bool) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) for BG/NBD from the input columns, in trading or calendar days."""
    if trading_time:
        recency, tenure = X["trading_recency_days"], X["trading_tenure_days"]
    else:
        recency, tenure = X["recency_days"], X["tenure_days"]
    return btyd.rfm_inputs(X["frequency"], recency, tenure)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class ModelInputs(TransformerMixin, BaseEstimator):
    """Select and scale the input columns; add BG/NBD features fitted on the training rows."""

    def __init__(
        self,
        features: tuple[str, ...] = BEHAVIOUR_FEATURES,
        btyd: bool = True,
        rhythm: bool = True,
    ):
        self.features = features
        self.btyd = btyd
        self.rhythm = rhythm

    def _with_rhythm(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([X, rhythm_features(X)], axis=1)

    def fit(self, X: pd.DataFrame, y=None):
        X = self._with_rhythm(model_input_frame(X))
        wanted = (*self.features, *SEASON_FEATURES, *(RHYTHM_FEATURES if self.rhythm else ()))
        usable = [c for c in wanted if X[c].notna().any()]
        self.columns_ = [*usable, *(BTYD_FEATURES if self.btyd else ())]
        if self.btyd:
            params = btyd.fit_bgnbd(*bgnbd_inputs(X, trading_time=True))
            self.bgnbd_params_ = params.as_dict()
        return self

    def bgnbd_outputs(self, X: pd.DataFrame) -> pd.DataFrame:
        """P(alive), P(purchase in the horizon) and expected orders in the horizon."""
        return pd.DataFrame(self._bgnbd_columns(model_input_frame(X)), index=X.index)

    def _bgnbd_columns(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`bgnbd_outputs` of a frame already made by :func:`model_input_frame`."""
        params = btyd.BGNBDParams(**self.bgnbd_params_)
        inputs = bgnbd_inputs(X, trading_time=True)
        horizon = X["horizon_trading_days"].to_numpy()
        outputs = btyd.horizon_outputs(params, horizon, *inputs)
        return dict(zip(BTYD_FEATURES, outputs, strict=True))

    def _readable_columns(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """The model's columns (``columns_``, in order) as arrays, before scaling."""
        X = model_input_frame(X)
        sources = {c: X[c].to_numpy() for c in X.columns}
        if any(c in RHYTHM_FEATURES for c in self.columns_):
            sources.update({c: v.to_numpy() for c, v in rhythm_features(X).items()})
        if self.btyd:
            sources.update(self._bgnbd_columns(X))
        return {column: sources[column] for column in self.columns_}

    def readable(self, X: pd.DataFrame) -> pd.DataFrame:
        """The values behind each model column as a person reads them (before scaling)."""
        return pd.DataFrame(self._readable_columns(X), index=X.index)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        model = {}
        for column, values in self._readable_columns(X).items():
            if column in LOG_SCALED:
                values = np.log1p(np.maximum(values, 0.0))
            model[column] = values
        if self.btyd:
            model["bgnbd_p_purchase"] = _logit(model["bgnbd_p_purchase"])
            model["bgnbd_expected_orders"] = np.log(model["bgnbd_expected_orders"] + 0.01)
        return pd.DataFrame(model, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.columns_, dtype=object)


class BGNBDClassifier(ClassifierMixin, BaseEstimator):
    """BG/NBD alone: P(at least one purchase in the horizon | x, t_x, T).

    ``trading_time=False`` is the textbook model in calendar days with a horizon of
    ``horizon_days``; ``True`` uses the trading clock and each row's horizon_trading_days.
    """

    def __init__(self, trading_time: bool = False, horizon_days: int = 90):
        self.trading_time = trading_time
        self.horizon_days = horizon_days

    def fit(self, X: pd.DataFrame, y=None):
        X = model_input_frame(X)
        self.params_ = btyd.fit_bgnbd(*bgnbd_inputs(X, trading_time=self.trading_time)).as_dict()
        self.classes_ = np.array([False, True])
        return self

    def _horizon(self, X: pd.DataFrame):
        if self.trading_time:
            return X["horizon_trading_days"].to_numpy()
        return float(self.horizon_days)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        X = model_input_frame(X)
        params = btyd.BGNBDParams(**self.params_)
        inputs = bgnbd_inputs(X, trading_time=self.trading_time)
        p = np.clip(btyd.probability_of_purchase(params, self._horizon(X), *inputs), 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return _logit(self.predict_proba(X)[:, 1])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5

    def expected_orders(self, X: pd.DataFrame) -> np.ndarray:
        X = model_input_frame(X)
        params = btyd.BGNBDParams(**self.params_)
        inputs = bgnbd_inputs(X, trading_time=self.trading_time)
        return btyd.expected_purchases(params, self._horizon(X), *inputs)


class ParetoNBDClassifier(BGNBDClassifier):
    """Pareto/NBD alone, on the same (x, t_x, T) and horizon as :class:`BGNBDClassifier`:
    the same purchase story, but customers may drop out at any time, not only right after
    a purchase (:mod:`pipeline.modelling.btyd`)."""

    def fit(self, X: pd.DataFrame, y=None):
        X = model_input_frame(X)
        inputs = bgnbd_inputs(X, trading_time=self.trading_time)
        self.params_ = btyd.fit_pareto_nbd(*inputs).as_dict()
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        X = model_input_frame(X)
        params = btyd.ParetoNBDParams(**self.params_)
        inputs = bgnbd_inputs(X, trading_time=self.trading_time)
        p = btyd.pareto_probability_of_purchase(params, self._horizon(X), *inputs)
        return np.column_stack([1 - p, p])

    def expected_orders(self, X: pd.DataFrame) -> np.ndarray:
        X = model_input_frame(X)
        params = btyd.ParetoNBDParams(**self.params_)
        inputs = bgnbd_inputs(X, trading_time=self.trading_time)
        return btyd.pareto_expected_purchases(params, self._horizon(X), *inputs)
