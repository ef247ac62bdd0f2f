"""Server processes and the listener attachments they hold.

A listener's attachment belongs to the process holding its socket. Each process
keeps a ``ServerProcess`` row fresh with a heartbeat; when a process stops
beating for ``dead_after`` seconds, any live process may *reap* it: release the
attachments it held (decrementing their streams) and delete its row. A process
never releases the attachments of another process that still beats.

Exactly once: an attachment is decremented only by the call whose ``DELETE``
removed its row, so a listener's own release, this process's ``close`` and any
number of reapers can race without counting a listener twice. On PostgreSQL
concurrent deletes of one row serialise on its row lock (the loser deletes
nothing); on SQLite Tortoise runs each transaction alone on its one connection.

Heartbeats use this host's clock (UTC): hosts sharing a database need
synchronised clocks, and ``dead_after`` should be several heartbeat intervals.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import cast
from uuid import UUID, uuid4

from tortoise.expressions import Case, F, When
from tortoise.transactions import in_transaction

from gencaster.db import log_failure
from gencaster.distributor import GenCasterChannel
from gencaster.tasks import TaskSet
from models import ListenerAttachment, ServerProcess, Stream

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def decrement_listeners(stream_uuid: UUID, count: int) -> None:
    """Subtract ``count`` in SQL, never below 0 (inside the caller's transaction)."""
    await Stream.filter(uuid=stream_uuid).update(
        num_listeners=Case(
            When(num_listeners__gte=count, then=F("num_listeners") - count),
            default=0,  # type: ignore[arg-type]  # Tortoise quotes plain values; its hint is narrower
        )
    )


async def release_attachments_of(process_uuid: UUID) -> Counter[UUID]:
    """Delete the process's attachments, one stream at a time; decrement by what was deleted.

    Runs inside the caller's transaction. Each ``DELETE`` counts only the rows
    it removed itself, so a listener releasing concurrently is never counted twice.
    Streams are handled in uuid order so two releasers lock them in the same order.
    """
    # Flat values: uuids (Tortoise types every values_list as rows of tuples).
    stream_ids = cast(
        "list[UUID]",
        await ListenerAttachment.filter(process_id=process_uuid)
        .distinct()
        .values_list("stream_id", flat=True),
    )
    released: Counter[UUID] = Counter()
    for stream_id in sorted(stream_ids, key=str):
        deleted = await ListenerAttachment.filter(
            process_id=process_uuid, stream_id=stream_id
        ).delete()
        if deleted:
            await decrement_listeners(stream_id, deleted)
            released[stream_id] = deleted
    return released


class ProcessRegistry:
    """This process's row, its heartbeat, and the reaping of dead processes."""

    def __init__(
        self,
        *,
        channel: GenCasterChannel,
        heartbeat_interval: float = 5.0,
        dead_after: float = 30.0,
    ) -> None:
        if dead_after <= heartbeat_interval:
            raise ValueError("dead_after must be longer than heartbeat_interval")
        self.channel = channel
        self.heartbeat_interval = heartbeat_interval
        self.dead_after = dead_after
        self.process_uuid: UUID = uuid4()
        self._heartbeat = TaskSet()
        self._started = False
        self._closed = False

    @property
    def running(self) -> bool:
        return self._started and not self._closed

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("ProcessRegistry.start() was already called")
        self._started = True
        await self._create_row()
        self._heartbeat.start(self._beat_forever(), name=f"heartbeat-{self.process_uuid}")

    async def close(self) -> None:
        """Release what this process holds and forget it; safe to call twice."""
        if self._closed:
            return
        # Flag first, so a second close (or a concurrent one) does nothing.
        self._closed = True
        await self._heartbeat.cancel_all()
        if not self._started:
            return
        async with in_transaction():
            # Lock our row first: an attach still in flight either commits before
            # (and is released here) or fails on the missing row after; it is never
            # dropped by the cascade without a decrement.
            await ServerProcess.filter(uuid=self.process_uuid).select_for_update().first()
            released = await release_attachments_of(self.process_uuid)
            await ServerProcess.filter(uuid=self.process_uuid).delete()
        await self._publish(released)

    async def reap(self) -> int:
        """Release the attachments of processes that stopped beating; never this one's."""
        cutoff = utc_now() - timedelta(seconds=self.dead_after)
        dead = cast(
            "list[UUID]",
            await ServerProcess.filter(last_seen__lt=cutoff)
            .exclude(uuid=self.process_uuid)
            .values_list("uuid", flat=True),
        )
        total = 0
        for process_uuid in dead:
            total += await self._reap_one(process_uuid, cutoff)
        return total

    async def beat(self) -> None:
        """Prove this process is alive; revive the row if another process reaped it."""
        updated = await ServerProcess.filter(uuid=self.process_uuid).update(last_seen=utc_now())
        if not updated and self.running:
            logger.warning("Process %s was reaped while alive; re-registering", self.process_uuid)
            await self._create_row()

    async def revive(self) -> None:
        """Re-create this process's row if it is gone (a reaper thought we were dead)."""
        if not self.running:
            raise RuntimeError("The process registry is not running")
        if not await ServerProcess.exists(uuid=self.process_uuid):
            await self._create_row()

    async def _reap_one(self, process_uuid: UUID, cutoff: datetime) -> int:
        async with in_transaction():
            # Lock the row: a second reaper skips it, a late heartbeat waits, and
            # (PostgreSQL) new attachments of that process wait, then fail on the
            # deleted row, so the cascade below never drops an uncounted one.
            row = await (
                ServerProcess.filter(uuid=process_uuid, last_seen__lt=cutoff)
                .select_for_update(skip_locked=True)
                .first()
            )
            if row is None:
                return 0
            released = await release_attachments_of(process_uuid)
            await ServerProcess.filter(uuid=process_uuid).delete()
        count = sum(released.values())
        logger.warning(
            "Reaped process %s (%s:%s): released %d listeners",
            process_uuid,
            row.hostname,
            row.pid,
            count,
        )
        await self._publish(released)
        return count

    async def _create_row(self) -> None:
        await ServerProcess.get_or_create(
            uuid=self.process_uuid,
            defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "last_seen": utc_now()},
        )

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.beat()
                await self.reap()
            except Exception as error:  # A database blip must not stop the heartbeat.
                log_failure(logger, error, "Heartbeat of process %s failed", self.process_uuid)

    async def _publish(self, released: Counter[UUID]) -> None:
        for stream_uuid in released:
            await self.channel.publish_streams_update(stream_uuid)
