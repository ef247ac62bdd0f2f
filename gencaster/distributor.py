"""GenCasterChannel: the one place that knows channel names and update messages.

Writers call ``publish_*`` after their transaction has committed; subscriptions
call ``subscribe`` and re-read what changed. Messages are small JSON objects
carried as bytes by a ``Broker`` (Redis across processes, memory in one).
A failed publish is logged and never fails the write that caused it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from gencaster.broker import Broker, BrokerError
from gencaster.broker.base import RESYNC
from gencaster.metrics import FANOUT_DELIVERY

logger = logging.getLogger(__name__)

MessageType = Literal[
    "graph.update",
    "node.update",
    "streams.update",
    "stream_log.update",
    "instruction.update",
    "stream_variable.update",
    "access.revoked",
    "stream.stop",
    "stream.released",
    "stream.event",
    "broker.resync",
]
# Hosts' clocks differ: across hosts the delivery time is as good as their NTP.
SENT_AT = "_sent_at"


@dataclass(frozen=True)
class Update:
    """One update message: its type and its fields (uuids as strings)."""

    type: MessageType
    data: dict[str, Any]

    @property
    def uuid(self) -> str:
        return self.data["uuid"]

    @property
    def is_resync(self) -> bool:
        """The broker was away: updates may have been lost, so re-check the source."""
        return self.type == "broker.resync"

    def encode(self) -> bytes:
        """JSON, stamped with the wall-clock time it was sent (fan-out delivery metric)."""
        return json.dumps({"type": self.type, SENT_AT: time.time(), **self.data}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Update:
        payload = json.loads(raw)
        message_type = payload.pop("type")
        sent_at = payload.pop(SENT_AT, None)
        if isinstance(sent_at, float):
            FANOUT_DELIVERY.observe(max(0.0, time.time() - sent_at))
        return cls(type=message_type, data=payload)


def _text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


class GenCasterChannel:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    # Channel names: one per watched object, so subscribers hear only their own.
    @staticmethod
    def graph_channel(graph_uuid: UUID | str) -> str:
        return f"graph:{graph_uuid}"

    @staticmethod
    def node_channel(node_uuid: UUID | str) -> str:
        return f"node:{node_uuid}"

    @staticmethod
    def instruction_channel(instruction_uuid: UUID | str) -> str:
        return f"instruction:{instruction_uuid}"

    @staticmethod
    def stream_variables_channel(stream_uuid: UUID | str) -> str:
        return f"stream_variables:{stream_uuid}"

    STREAMS_CHANNEL = "streams"
    ACCESS_CHANNEL = "access"
    STREAM_LOGS_CHANNEL = "stream_logs"

    async def _publish(self, channel: str, update: Update) -> None:
        try:
            await self.broker.publish(channel, update.encode())
        except BrokerError:
            logger.exception("Could not publish %s on %s", update.type, channel)

    async def publish_graph_update(self, graph_uuid: UUID | str) -> None:
        await self._publish(
            self.graph_channel(graph_uuid), Update("graph.update", {"uuid": str(graph_uuid)})
        )

    async def publish_nodes_update(self, graph_uuid: UUID | str, *node_uuids: UUID | str) -> None:
        """Nodes of one graph changed: each node's watchers hear once, the graph's once."""
        for node_uuid in dict.fromkeys(node_uuids):
            await self._publish(
                self.node_channel(node_uuid), Update("node.update", {"uuid": str(node_uuid)})
            )
        await self.publish_graph_update(graph_uuid)

    async def publish_streams_update(self, stream_uuid: UUID | str) -> None:
        await self._publish(
            self.STREAMS_CHANNEL, Update("streams.update", {"uuid": str(stream_uuid)})
        )

    async def publish_stream_log(
        self,
        log_uuid: UUID | str,
        stream_uuid: UUID | str | None,
        stream_point_uuid: UUID | str | None,
    ) -> None:
        data = {
            "uuid": str(log_uuid),
            "stream_uuid": _text(stream_uuid),
            "stream_point_uuid": _text(stream_point_uuid),
        }
        await self._publish(self.STREAM_LOGS_CHANNEL, Update("stream_log.update", data))

    async def publish_instruction_update(self, instruction_uuid: UUID | str, state: str) -> None:
        data = {"uuid": str(instruction_uuid), "state": state}
        await self._publish(
            self.instruction_channel(instruction_uuid), Update("instruction.update", data)
        )

    async def publish_stream_variable_update(self, stream_uuid: UUID | str, key: str) -> None:
        """A listener or a cell set ``key``; engines waiting for it wake up."""
        data = {"uuid": str(stream_uuid), "key": key}
        await self._publish(
            self.stream_variables_channel(stream_uuid), Update("stream_variable.update", data)
        )

    @staticmethod
    def stream_control_channel(stream_uuid: UUID | str) -> str:
        return f"stream_control:{stream_uuid}"

    async def publish_stream_stop(self, stream_uuid: UUID | str) -> None:
        """An operator stops the stream: whichever process runs its engine ends it."""
        await self._publish(
            self.stream_control_channel(stream_uuid),
            Update("stream.stop", {"uuid": str(stream_uuid)}),
        )

    async def publish_stream_released(self, stream_uuid: UUID | str) -> None:
        """The process running the stream's engine let go: another may take it at once."""
        await self._publish(
            self.stream_control_channel(stream_uuid),
            Update("stream.released", {"uuid": str(stream_uuid)}),
        )

    @staticmethod
    def stream_events_channel(stream_uuid: UUID | str) -> str:
        return f"stream_events:{stream_uuid}"

    async def publish_stream_event(self, stream_uuid: UUID | str, event: dict[str, Any]) -> None:
        """What the stream's engine did, for its listeners on other processes."""
        await self._publish(
            self.stream_events_channel(stream_uuid),
            Update("stream.event", {**event, "uuid": str(stream_uuid)}),
        )

    async def publish_access_revoked(
        self, *, session_digest: str | None = None, user_uuid: UUID | str | None = None
    ) -> None:
        """A session ended, or a user's rights changed: open staff operations re-check."""
        if session_digest is not None:
            data = {"uuid": session_digest, "kind": "session"}
        else:
            data = {"uuid": str(user_uuid), "kind": "user"}
        await self._publish(self.ACCESS_CHANNEL, Update("access.revoked", data))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Update]]:
        """Updates published on ``channel`` from now on, until the block exits."""
        async with self.broker.subscribe(channel) as subscription:
            yield _decoded(subscription)


RESYNC_UPDATE = Update("broker.resync", {"uuid": ""})


async def _decoded(subscription: AsyncIterator[bytes]) -> AsyncIterator[Update]:
    async for raw in subscription:
        if raw == RESYNC:
            yield RESYNC_UPDATE  # messages may have been lost: re-check the source
            continue
        try:
            yield Update.decode(raw)
        except (ValueError, KeyError, TypeError):
            logger.warning("Dropped a malformed update message")
