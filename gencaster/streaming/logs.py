"""The stream log: what happened on a stream or stream point, for the editor to watch.

Each entry is a ``StreamLog`` row (so it survives restarts and reaches every process),
a ``stream_log.update`` message once the row exists, and a Python log record. A row
nobody waits for (a ``print`` in a cell, a performer's remote action) is written
with ``retry``: a database outage delays it instead of losing it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError

from gencaster.db import retry_while_unavailable
from gencaster.distributor import GenCasterChannel
from models import LogLevel, Stream, StreamLog, StreamPoint

DEFAULT_LOGGER = "gencaster.stream"
MAX_MESSAGE_CHARS = 10_000
MAX_NAME_CHARS = 255  # StreamLog.name's column size
MAX_ORIGIN_CHARS = 64  # StreamLog.origin's column size
TRUNCATED = " …[truncated]"


class StreamLogWriter:
    def __init__(self, channel: GenCasterChannel) -> None:
        self._channel = channel

    async def log(
        self,
        message: str,
        *,
        level: LogLevel = LogLevel.INFO,
        stream: Stream | UUID | None = None,
        stream_point: StreamPoint | UUID | None = None,
        origin: str = "graph_engine",
        name: str | None = None,
        retry: bool = False,
    ) -> StreamLog:
        """Store, then announce, then echo ``message``; a huge message is cut short.

        ``retry``: store it once the database is back if it is away now (for a
        record nobody waits for); otherwise an outage raises.
        """
        text = clean_message(message)
        stream_uuid, point_uuid = _uuid_of(stream), _uuid_of(stream_point)
        fields = {
            "uuid": uuid4(),
            "message": text,
            "level": LogLevel(level),
            "stream_id": stream_uuid,
            "stream_point_id": point_uuid,
            "origin": origin[:MAX_ORIGIN_CHARS],
            "name": name[:MAX_NAME_CHARS] if name else name,
        }
        store = partial(_insert_once, fields)
        if retry:
            entry = await retry_while_unavailable(store, what=f"store log record {fields['uuid']}")
        else:
            entry = await store()
        await self._channel.publish_stream_log(entry.uuid, stream_uuid, point_uuid)
        logging.getLogger(name or DEFAULT_LOGGER).log(
            int(level), "%s (stream %s, point %s)", text, stream_uuid, point_uuid
        )
        return entry


async def _insert_once(fields: dict[str, Any]) -> StreamLog:
    """Insert the row under its own uuid; a retry finds one an earlier attempt committed."""
    try:
        return await StreamLog.create(**fields)
    except IntegrityError:
        earlier = await StreamLog.get_or_none(uuid=fields["uuid"])
        if earlier is None:
            raise
        return earlier


def clean_message(message: str) -> str:
    """At most ``MAX_MESSAGE_CHARS`` characters, and no NUL (PostgreSQL text refuses it)."""
    text = str(message).replace("\0", "\ufffd")
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - len(TRUNCATED)] + TRUNCATED
    return text


def _uuid_of(item: Stream | StreamPoint | UUID | None) -> UUID | None:
    if item is None or isinstance(item, UUID):
        return item
    return item.uuid
