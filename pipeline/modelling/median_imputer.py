"""Median imputation that gives scikit-learn's values at a fraction of the cost.

``SimpleImputer(strategy="median")`` finds each column's median with ``numpy.ma.median``,
which sorts a masked copy of the whole frame: on the stacked training windows at 10M rows
(375k rows x 20 columns) that is 2 s of CPU per fit, more than the logistic regression it
feeds, and a training run fits a dozen such pipelines. ``numpy.nanmedian`` partitions
instead of sorting and gives the same medians (the mean of the two middle values for an
even count) in a tenth of the time. Everything else is ``SimpleImputer(strategy="median",
keep_empty_features=True)``'s behaviour: a column without any value is kept and filled with
0, and the output follows ``set_output``. ``tests/test_median_imputer.py`` checks the
fitted medians and the transformed values against SimpleImputer's.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class MedianImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fill missing values (NaN) with the column's median in the rows it was fitted on;
    columns that were empty at fit time get 0."""

    def fit(self, X, y=None):
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        with warnings.catch_warnings():
            # An empty column's median is NaN, with a warning; it is filled with 0 below.
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nanmedian(values, axis=0)
        self.statistics_ = np.where(np.isnan(medians), 0.0, medians)
        return self

    def transform(self, X):
        check_is_fitted(self, "statistics_")
        values = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False, copy=True
        )
        missing = np.isnan(values)
        if missing.any():
            values[missing] = np.broadcast_to(self.statistics_, values.shape)[missing]
        return values
