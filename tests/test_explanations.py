"""The vectorized top reasons against the customer-by-customer loop they replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.modelling.explanations import Contributions, _format_value, top_reasons


def _reference(explained: Contributions, k: int = 3) -> tuple[list[str], list[list[dict]]]:
    """The former implementation: one customer, one reason at a time."""
    contributions = explained.contributions.to_numpy()
    values = explained.values.to_numpy(dtype=np.float64)
    names = list(explained.contributions.columns)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    texts, records = [], []
    for row in range(len(contributions)):
        reasons, parts = [], []
        for column in order[row]:
            contribution = float(contributions[row, column])
            value = float(values[row, column])
            direction = "up" if contribution >= 0 else "down"
            reasons.append(
                {
                    "feature": names[column],
                    "value": None if np.isnan(value) else value,
                    "contribution": round(contribution, 4),
                    "direction": direction,
                }
            )
            parts.append(
                f"{names[column]}={_format_value(value)} ({contribution:+.2f}, {direction})"
            )
        texts.append("; ".join(parts))
        records.append(reasons)
    return texts, records


def _explained(rows: int, features: int, seed: int = 7) -> Contributions:
    rng = np.random.default_rng(seed)
    columns = [f"feature_{i}" for i in range(features)]
    pool = [0.0, -0.0, 1.0, 3.5, 0.123456, 250.7, 1e13, 1e12, -2.0, np.nan, 99.95, 100.5]
    pool += [-100.5, 1e-7, -2.5e-5, 123456.7, 1e300, np.inf, 12345678901.0]
    values = rng.choice(pool, (rows, features))
    values[:, 0] = rng.integers(0, 400, rows)  # many repeated integers, like recency days
    contributions = rng.normal(scale=2, size=(rows, features))
    contributions[::11, 0] = 0.0  # zero counts as up
    if features > 2:
        contributions[::5, 1] = contributions[::5, 2]  # ties keep the column order (stable sort)
        contributions[::13, 2] = -0.004  # rounds to -0.00 in the text
    return Contributions(
        values=pd.DataFrame(values, columns=columns),
        contributions=pd.DataFrame(contributions, columns=columns),
        intercept=0.3,
    )


@pytest.mark.parametrize(("rows", "features"), [(2_000, 12), (50, 2), (0, 5), (10, 3)])
def test_top_reasons_equal_the_customer_by_customer_loop(rows, features):
    explained = _explained(rows, features)
    texts, records = top_reasons(explained)
    expected_texts, expected_records = _reference(explained)
    assert texts == expected_texts
    assert list(records) == expected_records
    assert len(records) == rows
