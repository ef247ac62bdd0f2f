"""One migrated database per backend for this folder, wiped before each test.

Test modules run on the session loop (where the databases live). Each backend gets its
own Tortoise connection name: Tortoise caches compiled INSERTs by connection
name, so a shared name would hand SQLite's placeholders to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from gencaster.broker import MemoryBroker
from gencaster.cli import migrate_database
from gencaster.db import MODEL_MODULES
from gencaster.distributor import GenCasterChannel
from gencaster.settings import Settings
from gencaster.streaming.assignment import StreamAssigner
from gencaster.streaming.processes import ProcessRegistry, utc_now
from models import (
    Graph,
    ListenerAttachment,
    ServerProcess,
    Stream,
    StreamAssignmentPolicy,
    StreamPoint,
)
from tests.support.databases import database

BEACON_WINDOW_S = 60.0
TIMEOUT = 5.0  # every wait on a broker message in these tests is bounded by this


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp(f"assignment-{request.param}")
    async with database(request.param, tmp) as url:
        await migrate_database(Settings(data_dir=tmp, database_url=url))
        yield request.param, url


@pytest_asyncio.fixture(loop_scope="session")
async def db(migrated: tuple[str, str]) -> AsyncIterator[str]:
    """The backend's name, with Tortoise initialised on an empty streaming schema."""
    kind, url = migrated
    if kind == "postgres":
        url += "?minsize=1&maxsize=20"  # enough connections for transactions to overlap
    connection = f"assignment_{kind}"
    config = {
        "connections": {connection: url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": connection}},
        "use_tz": True,
        "timezone": "UTC",
    }
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        for model in (ListenerAttachment, Stream, StreamPoint, ServerProcess, Graph):
            await model.all().delete()
        yield kind


@pytest_asyncio.fixture(loop_scope="session")
async def channel() -> AsyncIterator[GenCasterChannel]:
    broker = MemoryBroker(prefix=f"test-{uuid4().hex[:8]}")
    await broker.start()
    yield GenCasterChannel(broker)
    await broker.close()


ProcessFactory = Callable[..., Awaitable[ProcessRegistry]]


@pytest_asyncio.fixture(loop_scope="session")
async def make_process(db: str, channel: GenCasterChannel) -> AsyncIterator[ProcessFactory]:
    """Builds started registries ("server processes") and closes them after the test."""
    registries: list[ProcessRegistry] = []

    async def make(**options: Any) -> ProcessRegistry:
        registry = ProcessRegistry(channel=channel, **options)
        await registry.start()
        registries.append(registry)
        return registry

    yield make
    for registry in registries:
        await registry.close()


@pytest_asyncio.fixture(loop_scope="session")
async def assigner(make_process: ProcessFactory, channel: GenCasterChannel) -> StreamAssigner:
    processes = await make_process()
    return StreamAssigner(processes=processes, channel=channel, beacon_window_s=BEACON_WINDOW_S)


async def make_graph(policy: StreamAssignmentPolicy) -> Graph:
    name = f"graph-{uuid4().hex[:10]}"
    return await Graph.create(
        name=name, display_name=name, slug_name=name, stream_assignment_policy=policy
    )


async def make_points(count: int, *, age_s: float | None = 0.0) -> list[StreamPoint]:
    """``count`` points whose last beacon is ``age_s`` old (``None``: never beaconed)."""
    last_live = None if age_s is None else utc_now() - timedelta(seconds=age_s)
    base = 20000 + await StreamPoint.all().count()
    return [
        await StreamPoint.create(host="127.0.0.1", port=base + index, last_live=last_live)
        for index in range(count)
    ]


async def totals() -> tuple[int, int]:
    """(sum of num_listeners over all streams, number of attachment rows)."""
    counts = await Stream.all().values_list("num_listeners", flat=True)
    return sum(counts), await ListenerAttachment.all().count()


async def listened_points_are_exclusive() -> bool:
    """No point carries two streams that both have listeners."""
    points = await Stream.filter(num_listeners__gt=0).values_list("stream_point_id", flat=True)
    return len(points) == len(set(points))
