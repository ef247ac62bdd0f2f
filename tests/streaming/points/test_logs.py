"""The stream log: a row, an update for the editor, and a Python log record."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gencaster.distributor import GenCasterChannel
from gencaster.streaming.logs import MAX_MESSAGE_CHARS, StreamLogWriter
from models import Graph, LogLevel, Stream, StreamLog, StreamPoint
from tests.streaming.points.conftest import TIMEOUT


async def test_a_log_is_stored_then_announced(
    db: str, logs: StreamLogWriter, channel: GenCasterChannel
):
    point = await StreamPoint.create(host="127.0.0.1", port=4000)
    graph = await Graph.create(name="log-graph", display_name="g", slug_name="log-graph")
    stream = await Stream.create(stream_point=point, graph=graph)
    async with channel.subscribe(channel.STREAM_LOGS_CHANNEL) as updates:
        entry = await logs.log(
            "Cell failed", level=LogLevel.ERROR, stream=stream, stream_point=point.uuid
        )
        async with asyncio.timeout(TIMEOUT):
            update = await anext(updates)
    assert update.type == "stream_log.update"
    assert update.data == {
        "uuid": str(entry.uuid),
        "stream_uuid": str(stream.uuid),
        "stream_point_uuid": str(point.uuid),
    }
    stored = await StreamLog.get(uuid=entry.uuid)
    assert (stored.message, stored.level, stored.origin) == (
        "Cell failed",
        LogLevel.ERROR,
        "graph_engine",
    )
    assert (stored.stream_id, stored.stream_point_id) == (stream.uuid, point.uuid)


async def test_a_log_without_stream_or_point(db: str, logs: StreamLogWriter):
    entry = await logs.log("server started", origin="server", name="gencaster.test")
    stored = await StreamLog.get(uuid=entry.uuid)
    assert stored.stream_id is None and stored.stream_point_id is None
    assert (stored.origin, stored.name) == ("server", "gencaster.test")


async def test_huge_messages_are_cut_and_nul_is_replaced(db: str, logs: StreamLogWriter):
    entry = await logs.log("a\0b" + "x" * 50_000)
    stored = await StreamLog.get(uuid=entry.uuid)
    assert len(stored.message) == MAX_MESSAGE_CHARS
    assert stored.message.startswith("a\ufffdb")
    assert stored.message.endswith("[truncated]")


async def test_python_logging_hears_it_under_the_given_name(
    db: str, logs: StreamLogWriter, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.DEBUG):
        await logs.log("walking", level=LogLevel.WARNING, name="gencaster.engine")
        await logs.log("default name")
    ours = [r for r in caplog.records if r.name.startswith("gencaster")]  # not the SQL echo
    assert [(r.name, r.levelno, r.getMessage().split(" (")[0]) for r in ours] == [
        ("gencaster.engine", logging.WARNING, "walking"),
        ("gencaster.stream", logging.INFO, "default name"),
    ]
