"""Stream assignment: give a listener a stream, count it in SQL, release it exactly once.

Each ``attach`` runs in one transaction: the ``ListenerAttachment`` row, the
count change and any new ``Stream`` commit together, and ``streams.update`` is
published after the commit.

Concurrency. On PostgreSQL (READ COMMITTED) row locks decide:

* a free point is picked with ``FOR UPDATE SKIP LOCKED``, so two listeners
  never wait on or share one candidate; after the lock is held its freeness is
  checked again in a new statement (a new snapshot), because a listener that
  took the point and committed just before our lock would be invisible to the
  snapshot of the picking query;
* ``ONE_GRAPH_ONE_STREAM`` joins a playing stream without a lock; only when
  there is none does it lock the graph row and look again before creating one,
  so two first listeners never create two streams;
* joining increments only while ``num_listeners > 0``: a stream whose last
  listener left meanwhile has a free point another graph may already have
  taken, so the joiner starts afresh instead of reviving it.

On SQLite (the single-process embedded default) Tortoise holds one lock around
its single connection for a whole transaction, so attach, release and reap
transactions of one process run one after another. SQLite is not meant to be
shared by several server processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from gencaster.db import retry_while_unavailable
from gencaster.distributor import GenCasterChannel
from gencaster.streaming.processes import ProcessRegistry, decrement_listeners
from gencaster.tasks import TaskSet
from models import Graph, ListenerAttachment, Stream, StreamAssignmentPolicy, StreamPoint

logger = logging.getLogger(__name__)

T = TypeVar("T")


class NoStreamAvailableError(Exception):
    """No stream can take this listener (no free live point, or the graph is deactivated)."""

    def __init__(self, message: str, *, graph_uuid: UUID | None = None) -> None:
        super().__init__(message)
        self.graph_uuid = graph_uuid

    def __repr__(self) -> str:
        return f"NoStreamAvailableError({self.args[0]!r}, graph_uuid={self.graph_uuid!r})"


@dataclass(frozen=True)
class Attachment:
    """One listener on one stream; ``uuid`` is its ``ListenerAttachment`` row."""

    uuid: UUID
    stream: Stream
    # The stream had no listeners before this one: the engine sends the clean slate.
    first_listener: bool


class StreamAssigner:
    def __init__(
        self,
        *,
        processes: ProcessRegistry,
        channel: GenCasterChannel,
        beacon_window_s: float,
    ) -> None:
        self.processes = processes
        self.channel = channel
        self.beacon_window_s = beacon_window_s
        self._pending = TaskSet()

    async def attach(self, graph: Graph) -> Attachment:
        """Attach one listener to a stream of ``graph``.

        The work runs in a task of its own: if the caller is cancelled after the
        commit but before it holds the attachment, the attachment is released
        here instead of leaking a count.
        """
        if graph.stream_assignment_policy == StreamAssignmentPolicy.DEACTIVATE:
            # The one home of the DEACTIVATE rule; listeners hear this message.
            raise NoStreamAvailableError(
                "This graph is deactivated: it is not streaming at the moment",
                graph_uuid=graph.uuid,
            )
        if not self.processes.running:
            raise RuntimeError("The process registry is not running")
        task = self._spawn(self._attach_and_publish(graph))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.shield(self._spawn(self._undo(task)))
            raise

    async def release(self, attachment: Attachment) -> bool:
        """Detach once: only the call whose DELETE removed the row decrements."""
        # Shielded: a second cancellation of the caller cannot cut the release short.
        return await asyncio.shield(self._spawn(self._release(attachment)))

    async def wait_idle(self, within: float = 10.0) -> None:
        """Wait until every attach and release under way has finished (at shutdown).

        Bounded: releases retry while the database is away, and shutdown must end.
        Whatever is left is released by this process's own close, or else reaped by
        another process once this one stops beating.
        """
        with suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._pending.wait_all()
        for task in self._pending:
            logger.warning("Stopped a listener release still waiting for the database")
            task.cancel()

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task this assigner keeps a reference to until it ends (shielded work).

        Its caller awaits it (or ``_undo`` does, for a cancelled caller) and handles
        what it raises, so the set does not log it.
        """
        return self._pending.start(work, name="stream-assignment", awaited=True)

    async def _release(self, attachment: Attachment) -> bool:
        """Release, retrying while the database is unreachable.

        A listener who leaves during a database outage must still be released once it
        is back, or its stream keeps counting it and its point stays taken. The delete
        is idempotent, so a retry after an unknown outcome cannot count twice.
        """
        return await retry_while_unavailable(
            partial(self._release_once, attachment), what=f"release listener {attachment.uuid}"
        )

    async def _release_once(self, attachment: Attachment) -> bool:
        stream_uuid = attachment.stream.uuid
        async with in_transaction():
            deleted = await ListenerAttachment.filter(uuid=attachment.uuid).delete()
            if deleted:
                await decrement_listeners(stream_uuid, 1)
        if deleted:
            await self.channel.publish_streams_update(stream_uuid)
        return bool(deleted)

    async def _undo(self, task: asyncio.Task[Attachment]) -> None:
        try:
            attachment = await task
        except (Exception, asyncio.CancelledError):
            return  # Nothing was committed, or the error belongs to the cancelled caller.
        await self._release(attachment)

    async def _attach_and_publish(self, graph: Graph) -> Attachment:
        try:
            attachment = await self._attach_once(graph)
        except IntegrityError:
            # The attachment's process row is gone: a reaper took this process
            # for dead during a long pause. Register again and retry once.
            await self.processes.revive()
            attachment = await self._attach_once(graph)
        await self.channel.publish_streams_update(attachment.stream.uuid)
        return attachment

    async def _attach_once(self, graph: Graph) -> Attachment:
        async with in_transaction():
            if graph.stream_assignment_policy == StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM:
                return await self._join_or_create(graph)
            return await self._create_on_free_point(graph)

    async def _join_or_create(self, graph: Graph) -> Attachment:
        # Joining needs no graph lock (the conditional increment is atomic), so
        # listeners of a playing stream do not queue behind each other.
        attachment = await self._join_playing(graph)
        if attachment is not None:
            return attachment
        # Creating does: check again under the lock, which a creator holds until
        # its new stream is committed and visible to our next statement.
        locked = await Graph.filter(uuid=graph.uuid).select_for_update(no_key=True).first()
        if locked is None:
            raise NoStreamAvailableError("The graph no longer exists", graph_uuid=graph.uuid)
        attachment = await self._join_playing(graph)
        if attachment is not None:
            return attachment
        return await self._create_on_free_point(graph)

    async def _join_playing(self, graph: Graph) -> Attachment | None:
        """Join the graph's newest stream that has listeners on a live point."""
        streams = (
            Stream.listened()
            .filter(
                graph_id=graph.uuid,
                stream_point__last_live__gte=StreamPoint.live_since(self.beacon_window_s),
            )
            .order_by("-created_date")
        )
        for stream in await streams:
            attachment = await self._join(stream)
            if attachment is not None:
                return attachment
        return None

    async def _join(self, stream: Stream) -> Attachment | None:
        # Record the attachment before touching the stream row: the reaper locks
        # the process row, then stream rows, and we must take them in that order.
        row = await ListenerAttachment.create(stream=stream, process_id=self.processes.process_uuid)
        joined = await Stream.filter(uuid=stream.uuid, num_listeners__gt=0).update(
            num_listeners=F("num_listeners") + 1
        )
        if not joined:
            await row.delete()
            return None
        await stream.refresh_from_db(fields=["num_listeners"])
        return Attachment(uuid=row.uuid, stream=stream, first_listener=False)

    async def _create_on_free_point(self, graph: Graph) -> Attachment:
        point = await self._lock_free_point()
        stream = await Stream.create(stream_point=point, graph_id=graph.uuid, num_listeners=1)
        row = await ListenerAttachment.create(stream=stream, process_id=self.processes.process_uuid)
        return Attachment(uuid=row.uuid, stream=stream, first_listener=True)

    async def _lock_free_point(self) -> StreamPoint:
        """A live point with no listened stream, locked until the transaction ends."""
        taken: list[UUID] = []
        while True:
            candidates = StreamPoint.free_live(self.beacon_window_s)
            if taken:
                candidates = candidates.exclude(uuid__in=taken)
            point = await (
                candidates.order_by("-last_live", "uuid")
                .select_for_update(skip_locked=True)
                .first()
            )
            if point is None:
                raise NoStreamAvailableError("No stream point is free at the moment")
            # A fresh statement sees what committed before we got the lock.
            if not await Stream.listened().filter(stream_point_id=point.uuid).exists():
                return point
            taken.append(point.uuid)
