"""Vectorised sampling helpers shared by the generator's modules (plain numpy)."""

from __future__ import annotations

import numpy as np


def largest_remainder(total: int, weights: np.ndarray, at_least_one: bool) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``weights``."""
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    counts[np.argsort(counts - share)[: total - counts.sum()]] += 1
    if at_least_one and total >= len(weights):
        while (counts == 0).any():
            counts[np.argmax(counts)] -= 1
            counts[np.argmin(counts)] += 1
    return counts


def draw_from_rows(rng: np.random.Generator, cum: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``row`` from the probability rows of ``cum``.

    ``cum`` holds cumulative probabilities per row (last column exactly 1); offsetting each
    row by its index turns all rows into one sorted array, so a single searchsorted suffices.
    """
    n_rows, n_cols = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    position = np.searchsorted(flat, row + rng.random(len(row)), side="right")
    return np.clip(position - row.astype(np.int64) * n_cols, 0, n_cols - 1).astype(np.int8)


def cumulative(prob: np.ndarray) -> np.ndarray:
    """Row-wise cumulative probabilities whose last column is exactly 1."""
    cum = np.cumsum(prob, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return cum


def segment_cumsum(values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative sums restarting at each segment, and each segment's total."""
    total = np.concatenate(([0.0], np.cumsum(values)))
    start = np.cumsum(lengths) - lengths
    base = total[start]
    within = total[1:] - np.repeat(base, lengths)
    return within, total[start + lengths] - base
