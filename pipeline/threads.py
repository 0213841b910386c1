"""Thread limits for fitting and predicting on per-customer frames.

The models work on dense frames of thousands to a few hundred thousand rows and tens of
columns, where each BLAS or OpenMP call is tiny: on a busy machine, handing it to several
threads that first have to be scheduled costs more than the work (figures in
benchmarks/RESULTS.md, "Thread limits of the models").

- :func:`single_thread` (a context manager): every native pool at one thread; the segment
  models (k-means, isolation forest) run inside it.
- :func:`single_blas_thread` (a decorator): BLAS at one thread, OpenMP left alone, so the
  gradient-boosted models keep their threads; the supervised models' training and scoring.
- :func:`fit_each`: independent fits side by side, one per core, each on one thread (the
  fits left after the whole rounds share the cores' OpenMP threads). Each fit is whole (a
  second of work, not a tiny call), so the threads pay their scheduling once; each fit
  computes what it would alone, so the results are the same bit for bit (the trees' and
  BLAS's results do not depend on their thread count).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

T = TypeVar("T")
R = TypeVar("R")


def single_thread() -> threadpool_limits:
    """Every BLAS and OpenMP pool at one thread, for the duration of a ``with`` block."""
    return threadpool_limits(limits=1)


single_blas_thread = threadpool_limits.wrap(limits=1, user_api="blas")


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fit_each(fit: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fit(item) for item in items]``, on up to one thread per core (joblib's threading
    backend), each fit on one thread: BLAS at one thread for the process while they run,
    and OpenMP (the gradient-boosted trees) at one thread in each worker, where its limit
    applies (OpenMP's is per thread). For fits whose work releases the GIL: BLAS, the
    compiled loss of a logistic regression, the trees' histograms and splits.

    The fits that are left when fewer remain than there are cores (the third of three on
    two cores) share the cores' OpenMP threads instead of leaving a core idle."""
    items = list(items)
    cores = usable_cores()
    workers = min(len(items), cores)
    if workers <= 1:
        return [fit(item) for item in items]
    whole_rounds = len(items) - len(items) % workers
    left = items[whole_rounds:]
    with threadpool_limits(limits=1, user_api="blas"):
        results = _side_by_side(fit, items[:whole_rounds], workers, threads=1)
        if left:
            results += _side_by_side(fit, left, workers, threads=cores // len(left))
        return results


def _side_by_side(fit: Callable[[T], R], items: list[T], workers: int, threads: int) -> list[R]:
    def limited(item: T) -> R:
        with threadpool_limits(limits=threads, user_api="openmp"):
            return fit(item)

    if len(items) <= 1:
        return [limited(item) for item in items]
    return Parallel(n_jobs=min(workers, len(items)), prefer="threads")(
        delayed(limited)(item) for item in items
    )
