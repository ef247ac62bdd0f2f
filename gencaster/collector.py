"""The cyclic garbage collector, for a process that holds thousands of open sockets.

CPython's full collection walks every tracked object: with 10,000 subscribed sockets
(about 1.5 million objects) it stops the event loop for one to two seconds, and it runs
whenever a quarter as many objects again have become long-lived, so a busy server
pauses every few seconds. Yet almost nothing in those sockets ever becomes cyclic
garbage: they are freed by reference counting when they close (``GuardedProtocol``
breaks the one cycle Sanic leaves behind).

The ``freeze`` policy therefore moves what has survived into the permanent generation
(``gc.freeze()``): once at start-up, and again within ``beat`` seconds after each full
collection, on the event loop. Each full collection then walks only the objects that
became long-lived since the last freeze, so pauses stay short however many sockets
are open. CPython starts a full collection once the objects that became long-lived
outnumber a quarter of those that survived the previous one; a burst of new sockets
would make that quarter large (and the next walk long), so right after each freeze a
collection of the (nearly empty) unfrozen objects sets that count back to zero.

No ``gc.callbacks``: a signal handler that raises (Ctrl-C's ``KeyboardInterrupt``)
while a callback runs is swallowed as an "unraisable" error, and the server would not
stop. The price of freezing: an object frozen while alive that later becomes part of a
cycle is never collected. Gencaster's own long-lived objects are freed without cycles,
and ``gencaster_gc_frozen_objects`` in ``/metrics`` shows the frozen count, which falls
again as sockets close; the ``default`` policy leaves CPython's collector as it is.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Literal

from gencaster.tasks import TaskSet

__all__ = ["CollectorPolicy", "PolicyName"]

logger = logging.getLogger(__name__)

PolicyName = Literal["freeze", "default"]


class CollectorPolicy:
    """Installs and removes one collector policy for the whole process."""

    def __init__(self, name: PolicyName, beat: float = 1.0) -> None:
        """``beat``: seconds between looks at whether a full collection has run."""
        self.name = name
        self.beat = beat
        self.installed = False
        self._tasks = TaskSet()
        self._full_collections = 0

    def install(self) -> None:
        """Call on the event loop once start-up is done (modules, schema and pools made)."""
        if self.installed or self.name != "freeze":
            return
        self._freeze()
        logger.debug("Collector: %d objects frozen after start-up", gc.get_freeze_count())
        self._tasks.start(self._watch(), name="gc-freeze")
        self.installed = True

    async def remove(self) -> None:
        """Give the frozen objects back to the collector (the app stops; tests go on)."""
        if not self.installed:
            return
        await self._tasks.cancel_all()
        gc.unfreeze()
        self.installed = False

    def _freeze(self) -> None:
        gc.collect()  # what survives it is frozen at once
        gc.freeze()
        gc.collect()  # nearly nothing left unfrozen: CPython now counts few survivors
        self._full_collections = _full_collections()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.beat)
            if _full_collections() != self._full_collections:
                gc.freeze()
                gc.collect()
                self._full_collections = _full_collections()


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])
