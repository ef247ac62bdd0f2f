"""The cyclic garbage collector, for a process that holds thousands of open sockets.

CPython's full collection walks every tracked object: with 10,000 subscribed sockets
(about 1.5 million objects) it stops the event loop for one to two seconds, and it runs
whenever a quarter as many objects again have become long-lived, so a busy server
pauses every few seconds. Yet almost nothing in those sockets ever becomes cyclic
garbage: they are freed by reference counting when they close (``GuardedProtocol``
breaks the one cycle Sanic leaves behind).

The ``freeze`` policy therefore moves what has survived a full collection into the
permanent generation (``gc.freeze()``), once at start-up and again after every full
collection. Each full collection then walks only the objects that became long-lived
since the one before, so pauses stay short however many sockets are open. CPython
starts a full collection once the objects that became long-lived outnumber a quarter
of those that survived the previous one; a burst of new sockets would make that
quarter large (and the next walk long), so right after each freeze an empty
collection sets the count of survivors back to zero: full collections then come
every ten collections of generation 1, each over what those promoted. The price:
an object frozen while alive that later becomes part of a cycle is never collected.
Gencaster's own long-lived objects are freed without cycles, and
``gencaster_gc_frozen_objects`` in ``/metrics`` shows the frozen count, which falls
again as sockets close; the ``default`` policy leaves CPython's collector as it is.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any, Literal

__all__ = ["CollectorPolicy", "PolicyName"]

logger = logging.getLogger(__name__)

PolicyName = Literal["freeze", "default"]


class CollectorPolicy:
    """Installs and removes one collector policy for the whole process."""

    def __init__(self, name: PolicyName) -> None:
        self.name = name
        self.installed = False
        self.longest_pause_s = 0.0  # since ``take_longest_pause``, for /metrics
        self._started = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resetting = False

    def install(self) -> None:
        """Call once start-up is done (modules, schema and pools made): they are frozen.

        Pauses are timed under either policy (``take_longest_pause``)."""
        if self.installed:
            return
        if self.name == "freeze":
            self._loop = asyncio.get_running_loop()
            gc.collect()
            gc.freeze()
            logger.debug("Collector: %d objects frozen after start-up", gc.get_freeze_count())
        gc.callbacks.append(self._on_collection)
        self.installed = True

    def remove(self) -> None:
        """Give the frozen objects back to the collector (the app stops; tests go on)."""
        if not self.installed:
            return
        gc.callbacks.remove(self._on_collection)
        if self.name == "freeze":
            gc.unfreeze()
        self.installed = False

    def take_longest_pause(self) -> float:
        """The longest collection pause (seconds) since the last call."""
        longest, self.longest_pause_s = self.longest_pause_s, 0.0
        return longest

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Called by the collector itself, in whichever thread triggered it: no locks
        # here (an allocation under a lock could re-enter), only plain attributes.
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.longest_pause_s = max(self.longest_pause_s, time.perf_counter() - self._started)
        if self.name == "freeze" and info.get("generation") == 2 and not self._resetting:
            # The survivors are still in generation 2: move them out of its reach. A
            # collection cannot start inside this callback, so the reset comes next.
            gc.freeze()
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._reset_survivor_count)

    def _reset_survivor_count(self) -> None:
        """A full collection over the (nearly empty) unfrozen objects: cheap, and CPython
        then counts the survivors as few, so the next full collection comes soon."""
        self._resetting = True
        try:
            gc.collect()
        finally:
            self._resetting = False
