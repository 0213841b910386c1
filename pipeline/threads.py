"""Thread limits for fitting and predicting on per-customer frames.

The models work on dense frames of thousands to a few hundred thousand rows and tens of
columns, where each BLAS or OpenMP call is tiny: on a busy machine, handing it to several
threads that first have to be scheduled costs more than the work (figures in
benchmarks/RESULTS.md, "Thread limits of the models").

- :func:`single_thread` (a context manager): every native pool at one thread; the segment
  models (k-means, isolation forest) run inside it.
- :func:`single_blas_thread` (a decorator): BLAS at one thread, OpenMP left alone, so the
  gradient-boosted models keep their threads; the supervised models' training and scoring.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def single_thread() -> threadpool_limits:
    """Every BLAS and OpenMP pool at one thread, for the duration of a ``with`` block."""
    return threadpool_limits(limits=1)


single_blas_thread = threadpool_limits.wrap(limits=1, user_api="blas")
