"""Run independent stages side by side in forked worker processes.

Forked workers inherit the parent's imported libraries, so a stage starts in
milliseconds instead of re-importing scikit-learn and statsmodels (as spawned or
loky workers do). The parent never runs OpenMP code before forking (only the
workers fit the gradient-boosting reference model), which keeps fork safe. With
``workers=1`` everything runs in the calling process, in order.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from threadpoolctl import threadpool_limits


def default_workers() -> int:
    """One worker per available core, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


class InProcess(Executor):
    """An executor that runs each task immediately in the calling process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


@contextmanager
def worker_pool(workers: int, preload: tuple[str, ...] = ()) -> Iterator[Executor]:
    """An executor with ``workers`` forked processes, or in-process when ``workers <= 1``.

    ``preload`` names modules to import in the parent first, so that every worker
    inherits them instead of importing them again.
    """
    for module in preload:
        importlib.import_module(module)
    if workers <= 1:
        yield InProcess()
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork"), initializer=_one_thread_per_worker
    ) as pool, threadpool_limits(limits=1):
        # While the workers use the cores, the parent's own BLAS/OpenMP threads would only
        # contend with them (and keep spinning after each call).
        yield pool


def _one_thread_per_worker() -> None:
    """Workers already run side by side: threaded BLAS/OpenMP inside them would only contend."""
    threadpool_limits(limits=1)
