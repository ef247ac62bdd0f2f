"""Listening: attach a listener to a stream, run the graph's engine, detach exactly once.

Listeners of one stream in this process share one ``StreamRun``: on
``ONE_GRAPH_ONE_STREAM`` graphs many listeners hear one stream, and it must not
receive one copy of every instruction per listener. Across processes a stream has
one engine too: the run of the process holding the stream's claim (``claims.py``)
runs it on the saved walk (``walks.py``); the runs of other processes relay its
events from the broker (``relay.py``) and take the walk over, where it was, when
the holder lets go or dies. A run starts with its first local listener and stops
when its last local listener leaves (letting go of the claim, if it held it).

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
from contextlib import aclosing, suppress
from dataclasses import dataclass
from uuid import UUID

from gencaster.db import log_failure
from gencaster.distributor import GenCasterChannel, Update
from gencaster.engine.engine import (
    DeadEnd,
    DialogShown,
    Engine,
    EngineEvent,
    EngineServices,
    InstructionSent,
    WalkLost,
)
from gencaster.errors import NotFound
from gencaster.metrics import LISTENERS
from gencaster.streaming.assignment import Attachment, NoStreamAvailableError, StreamAssigner
from gencaster.streaming.claims import EngineClaims, Lease, LocalClaims
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.relay import decode_event, encode_event
from gencaster.streaming.walks import StoredWalk
from gencaster.tasks import TaskSet
from models import Graph, LogLevel, Stream, StreamInstruction, StreamPoint

logger = logging.getLogger(__name__)

LISTENER_QUEUE_SIZE = 1000
SHUTDOWN_GRACE_SECONDS = 5.0
POINT_LOST = "The stream point stopped responding"
STORY_ENDED = "The story has reached its end"
ENGINE_FAILED = "The story stopped because of an error"
STOPPED = "An operator stopped this stream"
_BEACON_CHECK_MARGIN_S = 0.1


@dataclass(frozen=True)
class Attached:
    """The listener has a stream (the first thing it hears)."""

    stream: Stream


@dataclass(frozen=True)
class NoStream:
    reason: str


@dataclass(frozen=True)
class InstructionShown:
    """An instruction sent on the listener's stream, with the stream and its point as
    the stream's run last read them: every listener is shown the same rows, and none
    costs a read of its own between a ``FINISHED`` and the next instruction."""

    instruction: StreamInstruction
    stream: Stream
    point: StreamPoint


ListenEvent = Attached | NoStream | InstructionShown | DialogShown | DeadEnd


@dataclass(frozen=True)
class RunParts:
    """What every stream run of this process shares."""

    engine_services: EngineServices
    claims: EngineClaims
    dispatcher: InstructionDispatcher
    channel: GenCasterChannel | None
    beacon_window_s: float
    claim_retry_s: float = 1.0


class StreamRun:
    """One stream's listeners in this process, and where their events come from.

    While this process holds the stream's claim it runs the engine, resuming the saved
    walk, fans its events out to the local listeners and publishes them for listeners
    on other processes. Otherwise it relays the holder's events from the broker and
    tries the claim again every ``claim_retry_s`` seconds, at once when the holder
    announces it let go: if the holder died, its lease expires and a live process takes
    the walk over where it was.

    ``stream`` and ``point`` are what listeners are shown with each instruction: the
    stream is read again when ``streams.update`` names it (its listeners came or went),
    the point each time the beacon watcher looks at it.
    """

    def __init__(
        self,
        *,
        graph: Graph,
        stream: Stream,
        point: StreamPoint,
        parts: RunParts,
        on_finished: Callable[[StreamRun], None],
    ) -> None:
        self.graph = graph
        self.stream = stream
        self.point = point
        self.parts = parts
        self.engine: Engine | None = None
        self.listeners: set[asyncio.Queue[EngineEvent]] = set()
        self._on_finished = on_finished
        self._released = asyncio.Event()
        self._followed = False  # this run has relayed another process's engine
        self._ending: asyncio.Task[object] | None = None  # the watcher that ended the run
        self._tasks = TaskSet()  # the run and its watchers
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the run and its watchers (in the running loop).

        Kept synchronous: the caller registers the run and starts it with no
        ``await`` between, so a second listener never finds a run without a task.
        """
        stream = self.stream.uuid
        self.task = self._tasks.start(self._run(), name=f"stream-run-{stream}", on_done=self._done)
        self._tasks.start(self._watch_point(), name=f"stream-watch-point-{stream}")
        if self.parts.channel is not None:
            self._tasks.start(
                self._watch_control(self.parts.channel), name=f"stream-watch-control-{stream}"
            )
            self._tasks.start(
                self._watch_stream(self.parts.channel), name=f"stream-watch-row-{stream}"
            )

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

    def shown(self, event: EngineEvent) -> ListenEvent:
        """The event as a listener receives it: an instruction comes with the run's rows."""
        if isinstance(event, InstructionSent):
            return InstructionShown(event.instruction, self.stream, self.point)
        return event

    def stop(self) -> None:
        """Fence the engine off its stream point first, then cancel the run's task."""
        if self.engine is not None:
            self.engine.end()
        if self.task is not None:
            self.task.cancel()

    def _broadcast(self, event: EngineEvent) -> None:
        for queue in list(self.listeners):
            if queue.full():  # drop its oldest event, so the dead end still arrives
                logger.warning("A listener of stream %s fell behind", self.stream.uuid)
                queue.get_nowait()
            queue.put_nowait(event)

    async def _run(self) -> None:
        try:
            await self._claim_and_run()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # e.g. the database is away while the walk is taken
            log_failure(logger, error, "The run of stream %s failed", self.stream.uuid)
            self._broadcast(DeadEnd(ENGINE_FAILED))

    async def _claim_and_run(self) -> None:
        claims = self.parts.claims
        while True:
            lease = await claims.acquire(self.stream.uuid)
            if lease is None:
                lease = await self._follow_until_claimed()
                if lease is None:
                    return  # the walk ended while another process ran it
            try:
                if await self._lead(lease):
                    return
            finally:
                await lease.release()
                if self.parts.channel is not None:
                    await self.parts.channel.publish_stream_released(self.stream.uuid)

    async def _lead(self, lease: Lease) -> bool:
        """Run the engine while the lease holds; True once the walk has ended."""
        # A walk that ended while this run relayed it is over for these listeners too
        # (its dead end may have crossed the holder's release); a fresh run restarts it.
        walk = await StoredWalk.take(
            self.stream.uuid, dispatcher=self.parts.dispatcher, restart=not self._followed
        )
        if walk.ended_before:
            self._broadcast(DeadEnd(STORY_ENDED))
            return True
        engine = self.engine = Engine(
            graph=self.graph,
            stream=self.stream,
            point=self.point,
            services=self.parts.engine_services,
            clean_slate=walk.clean_slate,
            walk=walk,
        )
        drive = asyncio.ensure_future(self._drive(engine))
        lost = asyncio.ensure_future(lease.lost.wait())
        try:
            await asyncio.wait({drive, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not drive.done():
                engine.end()
                drive.cancel()
                with suppress(asyncio.CancelledError):
                    await drive
            await self.parts.dispatcher.settled()  # before the lease goes
            self.engine = None
        return not drive.cancelled() and drive.result()

    async def _drive(self, engine: Engine) -> bool:
        """Fan the engine's events out here and to other processes; True once it ended."""
        try:
            async with aclosing(engine.run()) as events:
                async for event in events:
                    await self._tell_everyone(event)
            return True
        except asyncio.CancelledError:
            raise
        except WalkLost:
            logger.info("Stream %s: another process took the walk over", self.stream.uuid)
            return False
        except Exception as error:
            log_failure(logger, error, "The engine of stream %s failed", self.stream.uuid)
            # Listeners first: in a database outage the stream's log waits for it.
            await self._tell_everyone(DeadEnd(ENGINE_FAILED))
            await engine.log("The engine stopped because of an internal error")
            return True

    async def _tell_everyone(self, event: EngineEvent) -> None:
        self._broadcast(event)
        if self.parts.channel is not None:
            await self.parts.channel.publish_stream_event(self.stream.uuid, encode_event(event))

    async def _follow_until_claimed(self) -> Lease | None:
        """Relay the holder's events until this process gets the claim (or the walk ends)."""
        self._followed = True
        channel = self.parts.channel
        if channel is None:  # one process: nobody else can hold the claim for long
            never: asyncio.Future[object] = asyncio.ensure_future(asyncio.Event().wait())
            try:
                return await self._claim_when_free(never)
            finally:
                never.cancel()
        async with channel.subscribe(channel.stream_events_channel(self.stream.uuid)) as updates:
            relay: asyncio.Future[object] = asyncio.ensure_future(self._relay(updates))
            try:
                return await self._claim_when_free(relay)
            finally:
                relay.cancel()
                await asyncio.wait({relay})
                if not relay.cancelled() and relay.exception() is not None:
                    logger.warning(
                        "Relaying stream %s stopped: %r", self.stream.uuid, relay.exception()
                    )

    async def _claim_when_free(self, relay: asyncio.Future[object]) -> Lease | None:
        """Try the claim until it is ours; None once ``relay`` ends (the walk ended)."""
        while True:
            # After subscribing, so no event between a failed try and the relay is lost.
            lease = await self.parts.claims.acquire(self.stream.uuid)
            if lease is not None:
                return lease
            released: asyncio.Future[object] = asyncio.ensure_future(self._released.wait())
            try:
                await asyncio.wait(
                    {relay, released},
                    timeout=self.parts.claim_retry_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                released.cancel()
            if relay.done():
                return None
            self._released.clear()

    async def _relay(self, updates: AsyncIterator[Update]) -> None:
        async for update in updates:
            if update.type != "stream.event":
                continue
            event = await decode_event(update.data)
            if event is None:
                continue
            self._broadcast(event)
            if isinstance(event, DeadEnd):
                return

    def _end_here(self, reason: str) -> None:
        """Stop the run from a watcher, which then goes on to say why."""
        self._ending = asyncio.current_task()
        self.stop()
        self._broadcast(DeadEnd(reason))

    async def _log(self, message: str, level: LogLevel) -> None:
        await self.parts.engine_services.logs.log(
            message,
            level=level,
            stream=self.stream,
            stream_point=self.point,
            origin="graph_engine",
            name="gencaster.engine",
        )

    async def _watch_point(self) -> None:
        """End the stream once its point has missed its beacons for the whole window."""
        beacon_window_s = self.parts.beacon_window_s
        await point_silent(self.point.uuid, beacon_window_s, seen=self._point_read)
        self._end_here(POINT_LOST)
        await self._log(
            f"Stream point {self.point.uuid} sent no beacon for {beacon_window_s:g} s: "
            "the stream ends",
            LogLevel.ERROR,
        )

    def _point_read(self, point: StreamPoint) -> None:
        self.point = point

    async def _watch_stream(self, channel: GenCasterChannel) -> None:
        """Read the stream again when it changes (listeners came or went), for listeners."""
        stream_uuid = str(self.stream.uuid)
        async with channel.subscribe(channel.STREAMS_CHANNEL) as updates:
            await self._read_stream()  # what changed before this run listened
            async for update in updates:
                if update.is_resync or update.data.get("uuid") == stream_uuid:
                    await self._read_stream()

    async def _read_stream(self) -> None:
        fresh = await Stream.get_or_none(uuid=self.stream.uuid)
        if fresh is not None:
            self.stream = fresh

    async def _watch_control(self, channel: GenCasterChannel) -> None:
        """End the stream when an operator stops it (``gencaster streams stop``); hear
        when the engine's holder lets go, to try the claim at once."""
        stream_uuid = self.stream.uuid
        async with channel.subscribe(channel.stream_control_channel(stream_uuid)) as updates:
            async for update in updates:
                if update.type == "stream.released":
                    self._released.set()
                elif update.type == "stream.stop":
                    break
            else:
                return
        self._end_here(STOPPED)
        await self._log(f"Stream {stream_uuid} was stopped by an operator", LogLevel.INFO)

    def _done(self, task: asyncio.Task[None]) -> None:
        # The watcher that ended the run is still logging why: let it finish.
        for watcher in self._tasks:
            if watcher is not self._ending:
                watcher.cancel()
        self._on_finished(self)


async def point_silent(
    point_uuid: UUID,
    beacon_window_s: float,
    *,
    seen: Callable[[StreamPoint], None] | None = None,
) -> None:
    """Return once the point's last beacon is older than ``beacon_window_s``.

    Sleeps until the window of the last beacon closes and looks again: one read per
    window while the point is alive; ``seen`` is given each row read.
    """
    while True:
        point = await StreamPoint.get_or_none(uuid=point_uuid)
        if point is not None and seen is not None:
            seen(point)
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
        dispatcher: InstructionDispatcher,
        claims: EngineClaims | None = None,
        channel: GenCasterChannel | None = None,
        claim_retry_s: float = 1.0,
    ) -> None:
        self.channel = channel
        self.assigner = assigner
        self.engine_services = engine_services
        self.claims = claims if claims is not None else LocalClaims()
        self.parts = RunParts(
            engine_services=engine_services,
            claims=self.claims,
            dispatcher=dispatcher,
            channel=channel,
            beacon_window_s=assigner.beacon_window_s,
            claim_retry_s=claim_retry_s,
        )
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

    async def _follow(self, graph: Graph, attachment: Attachment) -> AsyncIterator[ListenEvent]:
        run = await self._run_for(graph, attachment)
        queue = run.join()
        try:
            while True:
                event = await queue.get()
                yield run.shown(event)
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
            run = StreamRun(
                graph=graph, stream=stream, point=point, parts=self.parts, on_finished=self._forget
            )
            self.runs[stream.uuid] = run
            run.start()
        return run

    def _forget(self, run: StreamRun) -> None:
        if self.runs.get(run.stream.uuid) is run:
            del self.runs[run.stream.uuid]

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
