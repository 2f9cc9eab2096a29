"""Run independent stages side by side in worker processes.

Workers are started with the platform's default start method: ``fork`` on Linux up
to Python 3.13, ``forkserver`` on Linux from 3.14, ``spawn`` on macOS and Windows.
The environment variable ``TIKTOK_CLAIMS_START_METHOD`` (``fork``, ``spawn`` or
``forkserver``) overrides it, e.g. ``spawn`` where forking a process that has already
started threads is not safe.

Whatever the start method, every job submitted to a pool is a module-level function
with picklable arguments, and a worker relies on nothing it might have inherited from
the parent: each worker's initializer imports the modules the pool preloads and holds
its numeric libraries to one thread each, whether already loaded or loaded later.
Forked workers find those modules imported already (the parent imports them before
the pool starts), so a stage starts in milliseconds; spawned workers import them once
each. The parent never runs OpenMP code before the workers start (only the workers
fit the gradient-boosting reference model), which keeps fork safe. The results are
the same for any number of workers and any start method. With ``workers=1``
everything runs in the calling process, in order. Under ``spawn`` and ``forkserver``, a
script that calls the analysis must guard its entry point with
``if __name__ == "__main__":``, as :mod:`multiprocessing` requires (the command line
does).

Two settings of Python's cyclic garbage collector serve such a command
(:func:`fewer_collections`, and the pools' :func:`frozen_heap`): collections every
10,000 net allocations of containers rather than 700, and the parent's objects left out
of the collector while workers fork from it. Neither changes a result.
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator

from threadpoolctl import threadpool_limits

from .errors import OptionsError

MAX_DEFAULT_WORKERS = 4
# Net allocations of container objects between two young-generation collections (Python's default: 700).
COLLECTION_THRESHOLD = 10_000
# Names the start method of every worker pool; unset or empty: the platform's default.
START_METHOD_VARIABLE = "TIKTOK_CLAIMS_START_METHOD"
# Read by OpenMP and the BLAS libraries as they load: a worker sets each to 1.
ONE_THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def available_cores() -> int:
    """The cores this process may run on, at least 1.

    The affinity mask where the platform has one (Linux), else the cores usable by this
    process (Python 3.13+), else the machine's; 1 when none of them is known.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, count or 1)


def default_workers() -> int:
    """One worker per available core, at most 4."""
    return min(MAX_DEFAULT_WORKERS, available_cores())


def start_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context worker pools start from (see :data:`START_METHOD_VARIABLE`)."""
    method = os.environ.get(START_METHOD_VARIABLE, "").strip() or None
    if method is not None and method not in multiprocessing.get_all_start_methods():
        choices = ", ".join(multiprocessing.get_all_start_methods())
        raise OptionsError(
            f"{START_METHOD_VARIABLE}={method!r} is not a start method of this platform (choose from {choices})",
            option=START_METHOD_VARIABLE,
        )
    return multiprocessing.get_context(method)


def fewer_collections() -> None:
    """Collect cyclic garbage every ``COLLECTION_THRESHOLD`` net allocations, not every 700.

    A command imports the scientific stack (a few million objects, built in bursts) and
    then works on arrays: with the default threshold the collector runs some 600 times in
    ``run`` and takes about a tenth of its CPU time, walking objects that live until the
    end. Garbage in cycles waits longer for collection; arrays and frames are freed by
    reference counting as before. Set once at the command's start (its forked workers
    inherit it) and in each worker a pool starts; a library caller's process is left as
    it is.
    """
    first, *older = gc.get_threshold()
    if 0 < first < COLLECTION_THRESHOLD:
        gc.set_threshold(COLLECTION_THRESHOLD, *older)


_freezing = threading.Lock()
_frozen = 0  # frozen_heap blocks open (this module's freeze)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive now leave the cyclic collector until the block ends (:func:`gc.freeze`).

    Entered before workers fork: a collection in a forked worker would otherwise write to
    every object it walks that the parent left it, so the pages holding them are copied
    into the worker (some 100 MB of page faults per worker in ``run``). The parent's
    own collections skip them as well. Nested blocks (and threads) unfreeze when the
    outermost ends; a heap the caller froze itself is left as it is.
    """
    global _frozen
    with _freezing:
        ours = _frozen > 0 or gc.get_freeze_count() == 0
        if ours:
            if _frozen == 0:
                gc.freeze()
            _frozen += 1
    try:
        yield
    finally:
        if ours:
            with _freezing:
                _frozen -= 1
                if _frozen == 0:
                    gc.unfreeze()


class InProcess(Executor):
    """An executor that runs each task immediately in the calling process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers leave Ctrl-C to the parent from their first instruction, whatever the start method.

    Ctrl-C in a terminal signals every process of the foreground group; the parent alone
    answers it (it stops the pool). A pool starts its workers while it takes jobs, so each
    job is taken with Ctrl-C held back: blocked, not lost, in the parent, which gets it
    once ``submit`` returns; a worker started meanwhile, forked or a fresh interpreter
    (spawn, or the forkserver and its children), inherits the block before it runs any
    code, and its initializer then ignores Ctrl-C. Where signals cannot be blocked
    (Windows), jobs are taken as they come.
    """

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if not hasattr(signal, "pthread_sigmask"):
            return super().submit(fn, *args, **kwargs)
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut down as any pool; interrupted while waiting (a second Ctrl-C), stop the workers at once.

        The workers ignore Ctrl-C: left running when the command exits, nothing would stop them.
        """
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        except BaseException:
            for process in list((self._processes or {}).values()):
                process.terminate()  # SIGTERM: a worker ends at once (_start_worker)
            raise


@contextmanager
def worker_pool(workers: int, preload: tuple[str, ...] = ()) -> Iterator[Executor]:
    """An executor with ``workers`` worker processes, or in-process when ``workers <= 1``.

    ``preload`` names modules to import in the parent first, so that forked workers
    inherit them, and in each worker as it starts, so that spawned workers have them
    before their first job too. Jobs must be picklable: module-level functions and
    picklable arguments.
    """
    for module in preload:
        importlib.import_module(module)
    if workers <= 1:
        yield InProcess()
        return
    pool = WorkerPool(max_workers=workers, mp_context=start_context(), initializer=partial(_start_worker, tuple(preload)))
    try:
        # While the workers use the cores, the parent's own BLAS/OpenMP threads would only
        # contend with them (and keep spinning after each call).
        with threadpool_limits(limits=1), frozen_heap():
            yield pool
    except BaseException:
        # A failed stage or an interruption (Ctrl-C): the jobs not yet started are dropped,
        # the running ones finish, and every worker exits before the error goes on.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextmanager
def early_worker(preload: tuple[str, ...], warm: Callable[[], object]) -> Iterator[Executor]:
    """One worker process, started at once: it imports ``preload`` and runs ``warm`` while the caller goes on.

    For work whose libraries take long to load and whose input comes later (e.g. printing
    a document once the results exist): entered before the caller imports and computes
    the rest, the worker loads them on a core the caller's start-up leaves idle. The
    parent imports nothing for it. ``warm`` is a module-level function without
    arguments; what it raises is kept in its future, never raised here.
    """
    # Leaving it (also by a refusal or an interruption) waits for the worker to finish what it
    # is doing, at most its loading, and to exit: a worker left behind would keep the
    # command's output streams open after the command has ended.
    with WorkerPool(max_workers=1, mp_context=start_context(), initializer=partial(_start_worker, tuple(preload))) as pool:
        pool.submit(warm)  # starts the worker now (a pool starts its processes on the first job)
        yield pool


def _start_worker(preload: tuple[str, ...] = ()) -> None:
    """Each worker's initializer: one thread per worker, and the preloaded modules.

    The variables hold numeric libraries the worker loads later to one thread (a spawned
    worker loads them all itself); the limits hold those it has already loaded (inherited
    by a forked worker, or loaded by ``preload``).
    """
    # Ctrl-C reaches every process of the terminal's group: the parent alone answers it
    # (it stops the pool), so a worker neither prints a traceback nor dies mid-job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM ends a worker at once and quietly, as in a spawned worker: a forked one would
    # inherit the command's handler, whose SystemExit, raised while the worker imports its
    # modules, is printed as a traceback ("Exception in initializer").
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # held back while the pool started it (WorkerPool)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    os.environ.update(dict.fromkeys(ONE_THREAD_VARIABLES, "1"))
    fewer_collections()
    for module in preload:
        importlib.import_module(module)
    _one_thread_per_worker()


def _one_thread_per_worker() -> None:
    """Workers already run side by side: threaded BLAS/OpenMP inside them would only contend."""
    threadpool_limits(limits=1)
