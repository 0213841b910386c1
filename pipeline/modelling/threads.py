"""One BLAS thread for the modelling code.

The models fit dense problems of thousands of rows and tens of columns, where every BLAS
call is tiny. With several BLAS threads, each call hands work to threads that on a busy
machine first have to be scheduled: on the 500k-row demo on a loaded 2-CPU host, the
propensity and product training took 15-23 s with OpenBLAS's default threads and 4-12 s
with one (three alternating runs). Gradient boosting's OpenMP threads are not affected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from threadpoolctl import threadpool_limits

F = TypeVar("F", bound=Callable)


def single_blas_thread(function: F) -> F:
    """Run ``function`` with BLAS limited to one thread."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
