"""Independent stages side by side (``parallel.py``): the in-process executor, the forked
worker pool, and results that do not depend on the number of workers."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from tiktok_claims.parallel import InProcess, default_workers, worker_pool


class Refused(Exception):
    pass


def refuse(message: str):
    raise Refused(message)


def seeded_sum(seed: int) -> float:
    """Deterministic work: the same number whichever process computes it."""
    return float(np.random.default_rng(seed).normal(size=10_000).sum())


def blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info()]


# ---------------------------------------------------------------- in process


def test_in_process_runs_the_task_at_once_and_returns_a_finished_future():
    calls = []

    future = InProcess().submit(lambda a, b=0: calls.append((a, b)) or a + b, 2, b=3)

    assert calls == [(2, 3)]
    assert future.done() and future.result() == 5


def test_in_process_hands_an_exception_to_the_caller_through_the_future():
    future = InProcess().submit(refuse, "no")

    assert future.done()
    assert isinstance(future.exception(), Refused)
    with pytest.raises(Refused, match="^no$"):
        future.result()


def test_in_process_hands_over_base_exceptions_too():
    future = InProcess().submit(sys.exit, 3)

    with pytest.raises(SystemExit) as exited:
        future.result()
    assert exited.value.code == 3


@pytest.mark.parametrize("workers", [1, 0, -2])
def test_one_worker_or_fewer_runs_in_the_calling_process(workers):
    with worker_pool(workers) as pool:
        assert isinstance(pool, InProcess)
        assert pool.submit(os.getpid).result() == os.getpid()


# ---------------------------------------------------------------- forked workers


def test_two_workers_run_in_other_processes_and_give_the_results_of_one():
    seeds = list(range(8))
    with worker_pool(1) as pool:
        in_process = [pool.submit(seeded_sum, seed).result() for seed in seeds]
    with worker_pool(2) as pool:
        futures = [pool.submit(seeded_sum, seed) for seed in seeds]
        side_by_side = [future.result() for future in futures]
        pids = {pool.submit(os.getpid).result() for _ in range(4)}

    assert side_by_side == in_process  # bit for bit
    assert os.getpid() not in pids


def test_an_exception_in_a_worker_reaches_the_caller():
    with worker_pool(2) as pool:
        future = pool.submit(refuse, "from a worker")
        with pytest.raises(Refused, match="from a worker"):
            future.result()


def test_workers_run_numeric_libraries_on_one_thread_each():
    with worker_pool(2) as pool:
        counts = pool.submit(blas_threads).result()

    assert counts and set(counts) == {1}


def test_preloaded_modules_are_imported_in_the_parent_before_forking():
    assert "wave" not in sys.modules  # a standard-library module nothing here imports

    with worker_pool(1, preload=("wave",)):
        assert "wave" in sys.modules


def test_default_workers_is_one_per_available_core_at_most_four():
    assert default_workers() == max(1, min(4, len(os.sched_getaffinity(0))))
    assert 1 <= default_workers() <= 4
