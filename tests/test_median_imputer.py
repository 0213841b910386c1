"""The median imputer gives scikit-learn's SimpleImputer(strategy="median") values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.modelling.median_imputer import MedianImputer


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "skewed": rng.lognormal(size=rows),
            "counts": rng.poisson(3, size=rows).astype(float),
            "ties": rng.integers(0, 4, size=rows).astype(float),
            "empty": np.full(rows, np.nan),
            "full": rng.normal(size=rows),
        }
    )
    for column in ("skewed", "counts", "ties"):
        frame.loc[rng.random(rows) < 0.3, column] = np.nan
    return frame


def _reference() -> SimpleImputer:
    return SimpleImputer(strategy="median", keep_empty_features=True)


@pytest.mark.parametrize("rows", [1, 2, 7, 1000, 1001])
def test_the_medians_and_values_are_simple_imputers(rows):
    train, other = _frame(rows, seed=rows), _frame(50, seed=99)
    ours, reference = MedianImputer().fit(train), _reference().fit(train)
    np.testing.assert_array_equal(ours.statistics_, reference.statistics_)
    for frame in (train, other):
        np.testing.assert_array_equal(ours.transform(frame), reference.transform(frame))


def test_it_keeps_the_frame_names_in_a_pandas_pipeline_and_leaves_its_input_alone():
    train = _frame(500, seed=1)
    before = train.copy()

    def pipeline(imputer):
        return Pipeline([("impute", imputer), ("scale", StandardScaler())]).set_output(
            transform="pandas"
        )

    ours = pipeline(MedianImputer()).fit_transform(train)
    reference = pipeline(_reference()).fit_transform(train)
    pd.testing.assert_frame_equal(ours, reference)
    pd.testing.assert_frame_equal(train, before)


def test_a_frame_with_other_columns_is_refused():
    imputer = MedianImputer().fit(_frame(20, seed=2))
    with pytest.raises(ValueError, match="feature names"):
        imputer.transform(_frame(20, seed=3).rename(columns={"full": "other"}))
