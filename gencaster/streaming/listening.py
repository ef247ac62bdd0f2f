"""Listening: attach a listener to a stream, run the graph's engine, detach exactly once.

Listeners of one stream in this process share one engine run (``StreamRun``):
on ``ONE_GRAPH_ONE_STREAM`` graphs many listeners hear one stream, and it must
not receive one copy of every instruction per listener. The run starts with its
first local listener and is cancelled when its last local listener leaves.

A stream whose point stops beaconing ends: the real class beacons every 5 s, and a
killed sclang leaves no other trace (instructions to it simply vanish). Once the
point's last beacon is older than the beacon window, its listeners get
``GraphDeadEnd`` (``POINT_LOST``), the engine stops, and the point is no longer
assigned until it beacons again.

Whatever ends a listener's subscription — stop, complete, socket close, abrupt
reset, shutdown or an engine error — the ``finally`` of ``listen`` releases its
attachment; ``StreamAssigner.release`` decrements only once per attachment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from uuid import UUID

from gencaster.distributor import GenCasterChannel
from gencaster.engine.engine import DeadEnd, Engine, EngineEvent, EngineServices
from gencaster.errors import NotFound
from gencaster.metrics import LISTENERS
from gencaster.streaming.assignment import Attachment, NoStreamAvailableError, StreamAssigner
from gencaster.tasks import TaskSet
from models import Graph, LogLevel, Stream, StreamPoint

logger = logging.getLogger(__name__)

LISTENER_QUEUE_SIZE = 1000
SHUTDOWN_GRACE_SECONDS = 5.0
POINT_LOST = "The stream point stopped responding"
STOPPED = "An operator stopped this stream"
_BEACON_CHECK_MARGIN_S = 0.1


@dataclass(frozen=True)
class Attached:
    """The listener has a stream (the first thing it hears)."""

    stream: Stream


@dataclass(frozen=True)
class NoStream:
    reason: str


ListenEvent = Attached | NoStream | EngineEvent


class StreamRun:
    """One engine walking one stream, its events fanned out to local listeners."""

    def __init__(
        self,
        engine: Engine,
        on_finished: Callable[[StreamRun], None],
        *,
        beacon_window_s: float,
        channel: GenCasterChannel | None = None,
    ) -> None:
        self.engine = engine
        self.listeners: set[asyncio.Queue[EngineEvent]] = set()
        self._on_finished = on_finished
        self._beacon_window_s = beacon_window_s
        self._channel = channel
        self._ending: asyncio.Task[object] | None = None  # the watcher that ended the run
        self._tasks = TaskSet()  # the engine's run and its watchers
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the engine and its watchers (in the running loop).

        Kept synchronous: the caller registers the run and starts it with no
        ``await`` between, so a second listener never finds a run without a task.
        """
        stream = self.engine.stream.uuid
        self.task = self._tasks.start(self._run(), name=f"stream-run-{stream}", on_done=self._done)
        self._tasks.start(self._watch_point(), name=f"stream-watch-point-{stream}")
        if self._channel is not None:
            self._tasks.start(self._watch_stop(self._channel), name=f"stream-watch-stop-{stream}")

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def join(self) -> asyncio.Queue[EngineEvent]:
        queue: asyncio.Queue[EngineEvent] = asyncio.Queue(LISTENER_QUEUE_SIZE)
        self.listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[EngineEvent]) -> None:
        self.listeners.discard(queue)
        if not self.listeners:
            self.stop()

    def stop(self) -> None:
        """Fence the engine off its stream point first, then cancel its task."""
        self.engine.end()
        if self.task is not None:
            self.task.cancel()

    def _broadcast(self, event: EngineEvent) -> None:
        for queue in list(self.listeners):
            if queue.full():  # drop its oldest event, so the dead end still arrives
                logger.warning("A listener of stream %s fell behind", self.engine.stream.uuid)
                queue.get_nowait()
            queue.put_nowait(event)

    async def _run(self) -> None:
        try:
            async with aclosing(self.engine.run()) as events:
                async for event in events:
                    self._broadcast(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("The engine of stream %s failed", self.engine.stream.uuid)
            await self.engine.log("The engine stopped because of an internal error")
            self._broadcast(DeadEnd("The story stopped because of an error"))

    async def _watch_point(self) -> None:
        """End the stream once its point has missed its beacons for the whole window."""
        beacon_window_s = self._beacon_window_s
        await point_silent(self.engine.point.uuid, beacon_window_s)
        self._end_here()
        self._broadcast(DeadEnd(POINT_LOST))
        await self.engine.log(
            f"Stream point {self.engine.point.uuid} sent no beacon for {beacon_window_s:g} s: "
            "the stream ends",
            LogLevel.ERROR,
        )

    async def _watch_stop(self, channel: GenCasterChannel) -> None:
        """End the stream when an operator stops it (``gencaster streams stop``)."""
        stream_uuid = self.engine.stream.uuid
        async with channel.subscribe(channel.stream_control_channel(stream_uuid)) as updates:
            async for update in updates:
                if update.type == "stream.stop":
                    break
            else:
                return
        self._end_here()
        self._broadcast(DeadEnd(STOPPED))
        await self.engine.log(f"Stream {stream_uuid} was stopped by an operator", LogLevel.INFO)

    def _end_here(self) -> None:
        """Stop the run from a watcher, which then goes on to say why."""
        self._ending = asyncio.current_task()
        self.stop()

    def _done(self, task: asyncio.Task[None]) -> None:
        # The watcher that ended the run is still logging why: let it finish.
        for watcher in self._tasks:
            if watcher is not self._ending:
                watcher.cancel()
        self._on_finished(self)


async def point_silent(point_uuid: UUID, beacon_window_s: float) -> None:
    """Return once the point's last beacon is older than ``beacon_window_s``.

    Sleeps until the window of the last beacon closes and looks again: one read per
    window while the point is alive.
    """
    while True:
        point = await StreamPoint.get_or_none(uuid=point_uuid)
        remaining = 0.0 if point is None else point.seconds_left_live(beacon_window_s)
        if remaining <= 0:
            return
        await asyncio.sleep(remaining + _BEACON_CHECK_MARGIN_S)


class ListeningService:
    def __init__(
        self,
        *,
        assigner: StreamAssigner,
        engine_services: EngineServices,
        channel: GenCasterChannel | None = None,
    ) -> None:
        self.channel = channel
        self.assigner = assigner
        self.engine_services = engine_services
        self.runs: dict[UUID, StreamRun] = {}

    async def listen(self, graph_uuid: UUID) -> AsyncGenerator[ListenEvent]:
        graph = await Graph.get_or_none(uuid=graph_uuid)
        if graph is None:
            raise NotFound(f"No graph with uuid {graph_uuid}")
        try:
            attachment = await self.assigner.attach(graph)
        except NoStreamAvailableError as error:
            yield NoStream(str(error) or "No stream is free at the moment")
            return
        listeners = LISTENERS.labels(stream=str(attachment.stream.uuid))
        listeners.inc()
        try:
            yield Attached(attachment.stream)
            async for event in self._follow(graph, attachment):
                yield event
        finally:
            listeners.dec()
            # The assigner releases in a shielded task of its own, exactly once.
            await self.assigner.release(attachment)

    async def _follow(self, graph: Graph, attachment: Attachment) -> AsyncIterator[EngineEvent]:
        run = await self._run_for(graph, attachment)
        queue = run.join()
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, DeadEnd):
                    return
        finally:
            run.leave(queue)

    async def _run_for(self, graph: Graph, attachment: Attachment) -> StreamRun:
        stream = attachment.stream
        run = self.runs.get(stream.uuid)
        if run is not None and run.running:
            return run
        point = await StreamPoint.get(uuid=stream.stream_point_id)
        # Another listener of this stream may have started its run while we read.
        run = self.runs.get(stream.uuid)
        if run is None or not run.running:
            engine = Engine(
                graph=graph,
                stream=stream,
                point=point,
                services=self.engine_services,
                clean_slate=attachment.first_listener,
            )
            run = StreamRun(
                engine,
                self._forget,
                beacon_window_s=self.assigner.beacon_window_s,
                channel=self.channel,
            )
            self.runs[stream.uuid] = run
            run.start()
        return run

    def _forget(self, run: StreamRun) -> None:
        if self.runs.get(run.engine.stream.uuid) is run:
            del self.runs[run.engine.stream.uuid]

    async def close(self) -> None:
        """Stop every engine run (listeners' own ``finally`` blocks release them).

        Engines save variables and logs as they stop, so they get ``SHUTDOWN_GRACE_SECONDS``
        to do it; a run that is still busy after that is left behind, fenced off its point.
        """
        runs = list(self.runs.values())
        for run in runs:
            run.stop()
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            _, busy = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            if busy:
                logger.warning("%d engine runs did not stop in time", len(busy))
        await self.assigner.wait_idle()
