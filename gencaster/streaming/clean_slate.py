"""The clean slate before a stream's first listener, and proof that it took effect.

The reset (``CLEAN_SLATE``) runs ``CmdPeriod.run`` about 10 ms after it reaches the
SuperCollider instance. That kills whatever runs there, so a cell arriving before it is
cut off (a ``0.1.wait`` in it never finishes), and it tears down the instance's
instruction receiver, which the class creates again (OSC.md). So the first cell may
only leave once the ``CmdPeriod`` is over and the instance receives again:

1. Send the reset and wait for its ``FINISHED``: the reset sends it 10 ms *after* its
   ``CmdPeriod``. When it is lost, waiting ``settle_s`` is enough: by then the
   ``CmdPeriod`` has run if the reset arrived at all.
2. Probe: send ``PROBE`` (a no-op, new uuid each time) at growing intervals until any
   probe is acknowledged. Every probe leaves after step 1, so it reaches the instance
   after its ``CmdPeriod``; an acknowledgement shows the re-created receiver got it.
   A probe that falls into the receiver's gap is never answered; a later one is.
3. No answer within ``probe_timeout_s``: go on anyway (the caller logs a warning).

Neither the reset nor the probes are shown to listeners.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

from gencaster.engine.engine import ResetOutcome
from gencaster.streaming.instructions import InstructionDispatcher, InstructionTimeout
from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import StreamPoint


@dataclass(frozen=True)
class ResetTiming:
    """Bounds of the handshake; the defaults suit points on a LAN or loopback."""

    settle_s: float = 1.0  # longest wait for the reset's own FINISHED
    probe_timeout_s: float = 2.0  # longest wait for any probe's answer
    first_probe_gap_s: float = 0.02  # the gap before the next probe, doubling up to the cap
    max_probe_gap_s: float = 0.2


class CleanSlate:
    """``PointReset`` for the engine: reset a point and wait until it receives again."""

    def __init__(
        self, dispatcher: InstructionDispatcher, timing: ResetTiming | None = None
    ) -> None:
        self._dispatcher = dispatcher
        self._timing = timing or ResetTiming()

    async def __call__(self, point: StreamPoint) -> ResetOutcome:
        loop = asyncio.get_running_loop()
        started = loop.time()
        reset_finished = await self._reset(point)
        answered, probes = await self._probe(point)
        return ResetOutcome(
            confirmed=answered,
            reset_finished=reset_finished,
            probes=probes,
            waited_s=loop.time() - started,
        )

    async def _reset(self, point: StreamPoint) -> bool:
        async with self._dispatcher.pending(point, CLEAN_SLATE) as reset:
            try:
                await reset.finished(self._timing.settle_s)
            except InstructionTimeout:
                return False
        return True

    async def _probe(self, point: StreamPoint) -> tuple[bool, int]:
        """Send probes until one is acknowledged; (answered, probes sent)."""
        timing = self._timing
        waiting: set[asyncio.Task[bool]] = set()
        sent = 0
        gap = timing.first_probe_gap_s
        async with AsyncExitStack() as subscriptions:
            try:
                async with asyncio.timeout(timing.probe_timeout_s):
                    while True:
                        pending = await subscriptions.enter_async_context(
                            self._dispatcher.pending(point, PROBE)
                        )
                        sent += 1
                        waiting.add(asyncio.create_task(pending.acknowledged()))
                        done, waiting = await asyncio.wait(
                            waiting, timeout=gap, return_when=asyncio.FIRST_COMPLETED
                        )
                        if any(_answered(task) for task in done):
                            return True, sent
                        gap = min(gap * 2, timing.max_probe_gap_s)
            except TimeoutError:
                return False, sent
            finally:
                for task in waiting:
                    task.cancel()
                await asyncio.gather(*waiting, return_exceptions=True)


def _answered(task: asyncio.Task[bool]) -> bool:
    return not task.cancelled() and task.exception() is None and task.result()
