"""Independent stages side by side (``parallel.py``): the in-process executor, the worker
pool under the platform's start method and under ``spawn`` (macOS, Windows), the default
number of workers where ``os.sched_getaffinity`` does not exist, and results that depend
neither on the number of workers nor on how they were started."""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from tiktok_claims import parallel
from tiktok_claims.errors import OptionsError
from tiktok_claims.parallel import InProcess, default_workers, worker_pool

START_METHOD = "TIKTOK_CLAIMS_START_METHOD"


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


def imported(module: str) -> bool:
    return module in sys.modules


def ignores_ctrl_c() -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def ends_at_sigterm() -> bool:
    return signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def collector_state() -> tuple[int, int]:
    """A worker's young-generation threshold and the objects it has frozen."""
    return gc.get_threshold()[0], gc.get_freeze_count()


def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.fixture
def spawned(monkeypatch):
    """Workers started as on macOS and Windows: a fresh interpreter that inherits nothing."""
    monkeypatch.setenv(START_METHOD, "spawn")


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


# ---------------------------------------------------------------- worker processes


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


def test_workers_leave_ctrl_c_to_the_parent_which_keeps_it():
    with worker_pool(2) as pool:
        assert pool.submit(ignores_ctrl_c).result() is True

    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def test_forked_workers_end_at_sigterm_whatever_the_parents_handler():
    # The command's handler raises SystemExit; inherited by a worker still importing its
    # modules, it would print a traceback ("Exception in initializer").
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        with worker_pool(2) as pool:
            assert pool.submit(ends_at_sigterm).result() is True
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_spawned_workers_ignore_ctrl_c_too(spawned):
    with worker_pool(2) as pool:
        assert pool.submit(ignores_ctrl_c).result() is True


def test_ctrl_c_while_the_pool_starts_a_worker_is_held_back_not_lost(monkeypatch):
    submitted = []
    real = ProcessPoolExecutor.submit

    def interrupted(self, fn, /, *args, **kwargs):
        # As if Ctrl-C came while the pool forks or spawns a worker, at the thread that does it
        # (a signal to the process may be taken by another thread, e.g. a BLAS thread).
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        future = real(self, fn, *args, **kwargs)
        submitted.append(fn)
        return future

    monkeypatch.setattr(ProcessPoolExecutor, "submit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(2) as pool:
            pool.submit(int)

    assert submitted == [int]  # the job was taken, then the parent got its Ctrl-C


def test_a_second_ctrl_c_while_the_running_jobs_finish_stops_the_workers_at_once():
    # The first Ctrl-C waits for the running jobs; an impatient second one, during that wait,
    # must not leave them behind: they ignore Ctrl-C, and nothing would stop them after the
    # command has exited.
    second = threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(2) as pool:
            running = [pool.submit(slow, 30) for _ in range(2)]
            time.sleep(0.3)  # both are running
            second.start()
            raise KeyboardInterrupt  # the first Ctrl-C

    second.join()
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == [] and time.monotonic() - started < 15
    assert all(job.done() for job in running)


def test_a_stage_that_fails_drops_the_jobs_not_yet_started_and_stops_the_workers():
    with pytest.raises(Refused):
        with worker_pool(2) as pool:
            running = [pool.submit(slow, 0.5) for _ in range(2)]
            queued = [pool.submit(slow, 0.5) for _ in range(20)]
            time.sleep(0.2)  # the first two are running
            raise Refused("a stage failed")

    assert all(job.done() for job in running + queued)
    assert sum(job.cancelled() for job in queued) >= 15  # at most a few had been handed to a worker
    with pytest.raises(RuntimeError):
        pool.submit(int)


def test_preloaded_modules_are_imported_in_the_parent_before_forking():
    assert "wave" not in sys.modules  # a standard-library module nothing here imports

    with worker_pool(1, preload=("wave",)):
        assert "wave" in sys.modules


def test_default_workers_is_one_per_available_core_at_most_four():
    assert default_workers() == min(4, parallel.available_cores())
    assert 1 <= default_workers() <= 4


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no affinity mask on this platform")
def test_the_cores_are_those_of_the_affinity_mask_where_there_is_one():
    assert parallel.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("cores", "workers"), [(1, 1), (2, 2), (3, 3), (4, 4), (64, 4), (None, 1)])
def test_default_workers_without_an_affinity_mask(monkeypatch, cores, workers):
    # macOS and Windows: no os.sched_getaffinity, and os.cpu_count() may be None (unknown).
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)

    assert default_workers() == workers


@pytest.mark.parametrize(("cores", "workers"), [(3, 3), (None, 1)])
def test_default_workers_prefer_the_cores_this_process_may_use(monkeypatch, cores, workers):
    # Python 3.13+: os.process_cpu_count() counts only the cores this process may use.
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "process_cpu_count", lambda: cores, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)

    assert default_workers() == workers


def test_default_workers_when_the_affinity_mask_cannot_be_read(monkeypatch):
    def unreadable(pid):
        raise OSError("not permitted")

    monkeypatch.setattr(os, "sched_getaffinity", unreadable, raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    assert default_workers() == 2


# ---------------------------------------------------------------- start method


@pytest.mark.parametrize("value", [None, "", "  "])
def test_workers_start_by_the_platforms_default_method(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(START_METHOD, raising=False)
    else:
        monkeypatch.setenv(START_METHOD, value)

    assert parallel.start_context().get_start_method() == multiprocessing.get_start_method()


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_the_start_method_can_be_chosen(monkeypatch, method):
    monkeypatch.setenv(START_METHOD, method)

    assert parallel.start_context().get_start_method() == method


def test_an_unknown_start_method_is_refused(monkeypatch):
    monkeypatch.setenv(START_METHOD, "teleport")

    with pytest.raises(OptionsError, match="TIKTOK_CLAIMS_START_METHOD='teleport'") as refused:
        parallel.start_context()
    assert refused.value.option == START_METHOD
    with pytest.raises(OptionsError):
        with worker_pool(2):
            pass


def test_spawned_workers_give_the_results_of_one_on_one_thread_each(spawned):
    seeds = list(range(4))
    with worker_pool(1) as pool:
        in_process = [pool.submit(seeded_sum, seed).result() for seed in seeds]
    with worker_pool(2) as pool:
        futures = [pool.submit(seeded_sum, seed) for seed in seeds]
        side_by_side = [future.result() for future in futures]
        pids = {pool.submit(os.getpid).result() for _ in range(4)}
        counts = pool.submit(blas_threads).result()
        with pytest.raises(Refused, match="from a spawned worker"):
            pool.submit(refuse, "from a spawned worker").result()

    assert side_by_side == in_process  # bit for bit
    assert os.getpid() not in pids
    assert counts and set(counts) == {1}


def test_spawned_workers_inherit_nothing_and_import_the_preloaded_modules_themselves(spawned):
    # tabnanny: a standard-library module that neither this file nor the package imports.
    importlib.import_module("tabnanny")  # here only: a forked worker would inherit it
    with worker_pool(2) as pool:
        assert not pool.submit(imported, "tabnanny").result()
    with worker_pool(2, preload=("tabnanny",)) as pool:
        assert pool.submit(imported, "tabnanny").result()


# ---------------------------------------------------------------- the cyclic collector


@pytest.fixture
def default_collector():
    """Python's default thresholds for the test, restored afterwards (whatever they were)."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_fewer_collections_raises_only_the_young_threshold(default_collector):
    parallel.fewer_collections()
    assert gc.get_threshold() == (parallel.COLLECTION_THRESHOLD, 10, 10)


@pytest.mark.parametrize("threshold", [0, 50_000])
def test_fewer_collections_leaves_a_disabled_or_higher_threshold_alone(default_collector, threshold):
    gc.set_threshold(threshold, 10, 10)
    parallel.fewer_collections()
    assert gc.get_threshold() == (threshold, 10, 10)


def test_a_command_sets_the_threshold_before_its_work_and_help_alone_does_not(default_collector):
    from typer.testing import CliRunner

    from tiktok_claims.cli import app

    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
    assert gc.get_threshold()[0] == 700
    assert CliRunner().invoke(app, ["check", "--help"]).exit_code == 0  # the group's callback runs first
    assert gc.get_threshold()[0] == parallel.COLLECTION_THRESHOLD


def test_frozen_heap_freezes_until_the_outermost_block_ends():
    assert gc.get_freeze_count() == 0
    with parallel.frozen_heap():
        assert gc.get_freeze_count() > 0
        with parallel.frozen_heap():
            pass
        # The inner block left the outer's objects frozen (some may have been freed meanwhile).
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_frozen_heap_leaves_a_heap_the_caller_froze_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with worker_pool(2) as pool:
            pool.submit(int).result()
        assert gc.get_freeze_count() > 0 and gc.get_freeze_count() >= frozen // 2  # not unfrozen by the pool
    finally:
        gc.unfreeze()


def test_frozen_heap_unfreezes_after_an_error():
    with pytest.raises(Refused), parallel.frozen_heap():
        refuse("inside")
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("method", [None, "spawn"])
def test_a_pool_freezes_the_parent_while_it_runs_and_its_workers_collect_less_often(
    monkeypatch, default_collector, method
):
    if method is not None:
        monkeypatch.setenv(START_METHOD, method)
    with worker_pool(2) as pool:
        assert gc.get_freeze_count() > 0
        threshold, _ = pool.submit(collector_state).result()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == 700  # the parent's own setting is not the pool's to change
    assert threshold == parallel.COLLECTION_THRESHOLD
