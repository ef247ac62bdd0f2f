"""``ThrottledLog``: log records whose rate a sender controls, within a budget.

A flood of garbage datagrams, wrong passwords or acknowledgements for unknown
instructions must not fill the disk, yet an operator must still learn how much
was left out.
"""

from __future__ import annotations

import asyncio
import logging
import time


class ThrottledLog:
    """Logs at most ``burst`` records per ``interval`` seconds, then how many it left out.

    The count is reported when the window ends (by a timer, when an event loop runs),
    at the next record after it, or by ``flush``.
    """

    def __init__(
        self, logger: logging.Logger, what: str, *, burst: int = 20, interval: float = 10.0
    ) -> None:
        self._logger = logger
        self._what = what
        self._burst = burst
        self._interval = interval
        self._window_end = float("-inf")
        self._logged = 0
        self._left_out = 0
        self._flush_handle: asyncio.TimerHandle | None = None

    def log(self, level: int, msg: str, *args: object, exc_info: bool = False) -> None:
        clock = time.monotonic()
        if clock >= self._window_end:
            self.flush()
            self._window_end, self._logged = clock + self._interval, 0
        if self._logged < self._burst:
            self._logged += 1
            self._logger.log(level, msg, *args, exc_info=exc_info)
            return
        self._left_out += 1
        self._report_at_window_end(self._window_end - clock)

    def _report_at_window_end(self, delay: float) -> None:
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next record after the window reports the count
        self._flush_handle = loop.call_later(delay, self.flush)

    def flush(self) -> None:
        """Report the records left out so far (the OSC server also calls this as it closes)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._left_out:
            self._logger.warning(
                "%d more %s were not logged in the last %.0f s",
                self._left_out,
                self._what,
                self._interval,
            )
            self._left_out = 0
