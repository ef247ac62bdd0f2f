"""Real parts for the stream point tests: a fresh migrated database per test (SQLite and
PostgreSQL), a broker, an OSC server running the real handler on a free loopback port,
fake stream points beaconing to it, and raw UDP peers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from gencaster.broker import MemoryBroker
from gencaster.cli import migrate_database
from gencaster.db import tortoise_config
from gencaster.distributor import GenCasterChannel
from gencaster.settings import Settings
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import FakeStreamPoint, OscClient, OscServer
from gencaster.streaming.points import StreamPointHandler
from models import StreamPoint
from tests.support.databases import database
from tests.support.osc import LOOPBACK, TIMEOUT, MakeFake, StartServer, fake_points
from tests.support.polling import eventually

PASSWORD = "performer-secret"
BEACON_WINDOW_S = 60.0


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def db(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh migrated database with the ORM set up for this test's context only.

    Not the global fallback that ``open_database`` sets: a server fixture of another
    folder may hold it for the whole session. Tasks started from here (the OSC server's
    handler calls) inherit the context. The connection keeps the app's name, because
    Tortoise binds the model classes themselves to it; ``database`` clears the compiled
    statements that name caches, before and after.
    """
    async with database(db_kind, tmp_path) as url:
        await migrate_database(Settings(data_dir=tmp_path, database_url=url))
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            yield db_kind


@pytest.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    broker = MemoryBroker(prefix=f"points-{uuid.uuid4().hex[:8]}")
    await broker.start()
    yield broker
    await broker.close()


@pytest.fixture
def channel(broker: MemoryBroker) -> GenCasterChannel:
    return GenCasterChannel(broker)


@pytest.fixture
def dispatcher(osc_client: OscClient, channel: GenCasterChannel) -> InstructionDispatcher:
    return InstructionDispatcher(osc=osc_client, channel=channel)


@pytest.fixture
def logs(channel: GenCasterChannel) -> StreamLogWriter:
    return StreamLogWriter(channel)


@dataclass
class SpeechRecorder:
    """A real speak/play pair that renders nothing: it records what it was asked."""

    spoken: list[str] = field(default_factory=list)
    played: list[tuple[StreamPoint, Any]] = field(default_factory=list)

    async def speak(self, text: str) -> str:
        self.spoken.append(text)
        return f"audio of {text}"

    async def play(self, point: StreamPoint, audio: Any) -> None:
        self.played.append((point, audio))


@pytest.fixture
def speech() -> SpeechRecorder:
    return SpeechRecorder()


@pytest.fixture
def make_handler(
    dispatcher: InstructionDispatcher,
    channel: GenCasterChannel,
    logs: StreamLogWriter,
    speech: SpeechRecorder,
) -> Callable[..., StreamPointHandler]:
    def make(**changes: Any) -> StreamPointHandler:
        options: dict[str, Any] = {
            "dispatcher": dispatcher,
            "channel": channel,
            "logs": logs,
            "osc_password": PASSWORD,
            "beacon_window_s": BEACON_WINDOW_S,
            "speak": speech.speak,
            "play": speech.play,
        }
        options.update(changes)
        return StreamPointHandler(**options)

    return make


@pytest.fixture
def handler(make_handler: Callable[..., StreamPointHandler]) -> StreamPointHandler:
    return make_handler()


@pytest.fixture
async def osc_server(db: str, handler: StreamPointHandler, start_server: StartServer) -> OscServer:
    return await start_server(handler)


@pytest.fixture
async def make_fake_point(osc_server: OscServer) -> AsyncIterator[MakeFake]:
    """Started fakes that beacon once at start (unless told otherwise) to ``osc_server``."""
    async with fake_points(osc_server.port, beacon_interval=3600.0) as make:
        yield make


async def registered(fake: FakeStreamPoint, within: float = TIMEOUT) -> StreamPoint:
    """The fake's StreamPoint row, once its beacon has been handled."""
    return await eventually(
        lambda: StreamPoint.get_or_none(host=LOOPBACK, port=fake.lang_port), within
    )
