"""The stream log: what happened on a stream or stream point, for the editor to watch.

Each entry is a ``StreamLog`` row (so it survives restarts and reaches every process),
a ``stream_log.update`` message once the row exists, and a Python log record.
"""

from __future__ import annotations

import logging
import time
from uuid import UUID

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
    ) -> StreamLog:
        """Store, then announce, then echo ``message``; a huge message is cut short."""
        text = clean_message(message)
        stream_uuid, point_uuid = _uuid_of(stream), _uuid_of(stream_point)
        entry = await StreamLog.create(
            message=text,
            level=LogLevel(level),
            stream_id=stream_uuid,
            stream_point_id=point_uuid,
            origin=origin[:MAX_ORIGIN_CHARS],
            name=name[:MAX_NAME_CHARS] if name else name,
        )
        await self._channel.publish_stream_log(entry.uuid, stream_uuid, point_uuid)
        logging.getLogger(name or DEFAULT_LOGGER).log(
            int(level), "%s (stream %s, point %s)", text, stream_uuid, point_uuid
        )
        return entry


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


class ThrottledLog:
    """Logs at most ``burst`` records per ``interval`` seconds, then how many it left out.

    For records whose rate a sender controls (a flood of wrong passwords or of
    acknowledgements for unknown instructions must not fill the disk).
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

    def log(self, level: int, msg: str, *args: object) -> None:
        clock = time.monotonic()
        if clock >= self._window_end:
            if self._left_out:
                self._logger.warning(
                    "%d more %s were not logged in the last %.0f s",
                    self._left_out,
                    self._what,
                    self._interval,
                )
            self._window_end, self._logged, self._left_out = clock + self._interval, 0, 0
        if self._logged < self._burst:
            self._logged += 1
            self._logger.log(level, msg, *args)
        else:
            self._left_out += 1
