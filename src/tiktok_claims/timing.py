"""Wall time per stage of a run, recorded as the stages start (``metrics.json`` → ``timings``)."""

from __future__ import annotations

import time
from typing import Callable

Progress = Callable[[str], None]


class StageClock:
    """Times consecutive stages: each :meth:`start` ends the stage before it.

    ``progress`` (optional) is told each stage's message as it starts, so one call both
    reports and times a stage. :attr:`timings` holds seconds by stage key, in order.

    Examples
    --------
    >>> clock = StageClock()
    >>> clock.start("load")
    >>> clock.start("fit")
    >>> list(clock.stop())
    ['load', 'fit']
    """

    def __init__(self, progress: Progress | None = None):
        self.timings: dict[str, float] = {}
        self._progress = progress
        self._stage: str | None = None
        self._started = 0.0

    def start(self, key: str, message: str | None = None) -> None:
        """End the current stage (if any) and start ``key``; ``message`` goes to the progress callback."""
        self.stop()
        self._stage, self._started = key, time.perf_counter()
        if self._progress is not None and message is not None:
            self._progress(message)

    def stop(self) -> dict[str, float]:
        """End the current stage; returns the timings so far."""
        if self._stage is not None:
            elapsed = time.perf_counter() - self._started
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + elapsed
            self._stage = None
        return self.timings
