"""Which product categories each customer is likely to buy in the next horizon.

Multi-label: one logistic regression per category (the categories with the most buyers,
OTHER excluded; see :func:`pipeline.modelling.training_frames.top_categories`), trained on
the same out-of-time windows as the other models, target "bought the category in the
window". Each category's model sees

* the shared inputs of :class:`~pipeline.modelling.model_inputs.ModelInputs` (behaviour,
  season and BG/NBD features: will the customer buy at all),
* the customer's share of purchase lines in that category so far (do they buy it),
* the category's seasonal index for the window (does it sell in this season; from the
  store's lines one year earlier).

A category with fewer than 10 buyers or non-buyers in the training rows is not modelled.
Recommendations (:mod:`pipeline.marts.recommendations`) are the modelled categories whose
probability reaches a threshold (configurable, default 0.7), ranked per customer.

Files without product columns have no categories: the step writes empty tables and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.modelling.classifiers import SOLVER
from pipeline.modelling.evaluation import Evaluation, classification_metrics
from pipeline.modelling.median_imputer import MedianImputer
from pipeline.modelling.model_inputs import ModelInputs, model_input_frame
from pipeline.modelling.training_frames import (
    ModelWindows,
    TrainingData,
    bought_column,
    season_column,
    share_column,
)
from pipeline.threads import fit_each, single_blas_thread

MODEL = "logistic_per_category"  # its predictions in the Evaluation
MIN_OUTCOMES = 10


class NoCategoryToModel(ValueError):
    """Nothing to model: no product data, or no category with enough buyers."""


def category_columns(categories) -> tuple[str, ...]:
    return tuple(
        c for category in categories for c in (share_column(category), season_column(category))
    )


def product_input_frame(frame: pd.DataFrame, categories) -> pd.DataFrame:
    return model_input_frame(frame, extra=category_columns(categories))


class CategoryPropensityModel(BaseEstimator):
    """One logistic regression per category (see the module docstring)."""

    def __init__(self, categories: tuple[str, ...] = (), C: float = 1.0):
        self.categories = categories
        self.C = C

    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        """The shared inputs and every category's own columns, before imputation."""
        own = X[list(category_columns(self.categories_))]
        return pd.concat([self.inputs_.transform(X), own], axis=1)

    def _design(self, prepared: pd.DataFrame, category: str) -> pd.DataFrame:
        columns = [*self.inputs_.columns_, share_column(category), season_column(category)]
        return prepared[columns].set_axis(
            [*self.inputs_.columns_, "category_share", "category_season"], axis=1
        )

    def fit(self, X: pd.DataFrame, Y: pd.DataFrame):
        outcomes = {c: np.asarray(Y[bought_column(c)], dtype=bool) for c in self.categories}
        self.categories_ = tuple(
            c for c, y in outcomes.items() if min(y.sum(), (~y).sum()) >= MIN_OUTCOMES
        )
        if not self.categories_:
            raise NoCategoryToModel(
                f"no category has {MIN_OUTCOMES} buyers and non-buyers in the training windows"
            )
        self.inputs_ = ModelInputs(btyd=True).fit(X)
        # Imputing and scaling work column by column, so one pass over the shared and all
        # category columns gives each category the values a pipeline of its own would, at
        # a fraction of the cost (each column's median is a pass over its values).
        self.prepare_ = Pipeline(
            [
                ("impute", MedianImputer()),
                ("scale", StandardScaler()),
            ]
        ).set_output(transform="pandas")
        prepared = self.prepare_.fit_transform(self._inputs(X))

        def fit_category(category: str) -> LogisticRegression:
            model = LogisticRegression(C=self.C, solver=SOLVER, max_iter=2000)
            return model.fit(self._design(prepared, category), outcomes[category])

        # The categories' fits are independent: side by side, one per core.
        self.models_ = dict(
            zip(self.categories_, fit_each(fit_category, self.categories_), strict=True)
        )
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(customers x categories_) probabilities of buying each category in the horizon."""
        prepared = self.prepare_.transform(self._inputs(X))
        return np.column_stack(
            [
                self.models_[c].predict_proba(self._design(prepared, c))[:, 1]
                for c in self.categories_
            ]
        )

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X) >= 0.5

    def coefficients(self) -> pd.DataFrame:
        """Standardised coefficients per category (long format), largest effect first."""
        rows = []
        for category, model in self.models_.items():
            names = [*self.inputs_.columns_, "category_share", "category_season"]
            coefficients = model.coef_[0]
            rows += [
                {"category": category, "feature": f, "coefficient": float(c)}
                for f, c in zip(names, coefficients, strict=True)
            ]
        table = pd.DataFrame(rows)
        order = table["coefficient"].abs().sort_values(ascending=False).index
        return table.loc[order].reset_index(drop=True)


@dataclass
class ProductTraining:
    model: CategoryPropensityModel
    evaluation: Evaluation  # every (validation customer, category) cell: micro-averaged
    per_category: pd.DataFrame  # metrics by category on the validation customers
    validation_inputs: pd.DataFrame
    validation_outcomes: pd.DataFrame

    @property
    def validation_brier(self) -> float:
        return self.evaluation.metrics[MODEL]["brier"]


def outcome_matrix(frame: pd.DataFrame, categories) -> pd.DataFrame:
    return frame[[bought_column(c) for c in categories]].astype(bool)


@single_blas_thread
def train_product_propensity(data: TrainingData) -> ProductTraining:
    train, validation = data.train, data.validation
    model = CategoryPropensityModel(categories=data.categories)
    model.fit(product_input_frame(train, data.categories), outcome_matrix(train, data.categories))
    X_valid = product_input_frame(validation, data.categories)
    outcomes = outcome_matrix(validation, model.categories_)
    probability = model.predict_proba(X_valid)
    rows = []
    for i, category in enumerate(model.categories_):
        figures = classification_metrics(outcomes.iloc[:, i].to_numpy(), probability[:, i])
        rows.append({"category": category, **figures})
    return ProductTraining(
        model=model,
        evaluation=Evaluation(outcomes.to_numpy().ravel(), {MODEL: probability.ravel()}),
        per_category=pd.DataFrame(rows),
        validation_inputs=X_valid,
        validation_outcomes=outcomes,
    )


def micro_brier(model: CategoryPropensityModel, X: pd.DataFrame, outcomes: pd.DataFrame) -> float:
    """Brier score over every (customer, category) cell; the champion must model the same
    categories (else it cannot be compared and ValueError is raised)."""
    if tuple(model.categories_) != tuple(c.removeprefix("bought:") for c in outcomes.columns):
        raise ValueError("the champion models other categories than the challenger")
    probability = model.predict_proba(X)
    return float(np.mean((probability - outcomes.to_numpy(dtype=np.float64)) ** 2))


@single_blas_thread
def score_product_propensity(
    model: CategoryPropensityModel,
    frame: pd.DataFrame,
    *,
    windows: ModelWindows,
    model_name: str,
    model_version: str,
) -> pd.DataFrame:
    """scores.product_propensity: one row per customer and modelled category."""
    X = product_input_frame(frame, model.categories_)
    probability = model.predict_proba(X)
    n, k = probability.shape
    customers = np.repeat(frame["customer_id"].to_numpy(dtype=object), k)
    categories = np.tile(np.asarray(model.categories_, dtype=object), n)
    shares = X[[share_column(c) for c in model.categories_]].to_numpy().ravel()
    ranks = (-probability).argsort(axis=1, kind="stable").argsort(axis=1) + 1
    return pd.DataFrame(
        {
            "customer_id": customers,
            "category": categories,
            "probability": probability.ravel(),
            "category_rank": ranks.ravel().astype(np.int64),
            "bought_before": shares > 0,
            "past_line_share": shares,
            "model_name": model_name,
            "model_version": model_version,
            "horizon_days": windows.horizon_days,
            "as_of": windows.snapshot,
        }
    )
