"""Shared fixtures: real databases, a real server on a free port, real clients.

``server`` is parametrised over SQLite and PostgreSQL; tests that use it run on
both. One server per database serves a whole test module (on the session's
event loop); tests create uniquely named data so they do not disturb each other.
The ORM is process-wide state, so never more than one server runs at a time.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gencaster.auth import create_user
from gencaster.cli import migrate_database
from gencaster.settings import Settings
from tests.support.databases import REDIS_URL, database
from tests.support.graphql import GraphQLClient
from tests.support.processes import RedisServer
from tests.support.server import RunningServer, free_port, running_server

# The shared OSC fixtures (start_server, osc_client, make_peer) for the folders that use them.
pytest_plugins = ["tests.support.osc"]

STAFF_PASSWORD = "staff-password-123"
RUN_ID = uuid.uuid4().hex[:8]


def make_settings(tmp: Path, database_url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "data_dir": tmp,
        "database_url": database_url,
        "osc_host": "127.0.0.1",
        "osc_port": free_port(socket.SOCK_DGRAM),
        "osc_password": "osc-secret",
        "instruction_timeout_s": 5.0,
        "secret_key": "test-secret-key",
        "redis_prefix": f"gencaster-test-{RUN_ID}-{uuid.uuid4().hex[:6]}",
        "cors_origins": ("http://editor.example",),
        # An in-process server shares the test process, whose objects it would freeze;
        # the freeze policy runs in every server process the tests start, and in
        # tests/transport/test_collector.py.
        "gc_policy": "default",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    async with database(request.param, tmp) as url:
        settings = make_settings(tmp, url)
        await migrate_database(settings)
        async with running_server(settings) as running:
            yield running


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest_asyncio.fixture(loop_scope="session")
async def anonymous(server: RunningServer) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient(server.graphql_url) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def staff(server: RunningServer, unique: str) -> AsyncIterator[GraphQLClient]:
    """A client logged in as a fresh staff user."""
    username = f"staff-{unique}"
    await create_user(username=username, password=STAFF_PASSWORD, is_staff=True)
    async with GraphQLClient(server.graphql_url) as client:
        result = await client.login(username, STAFF_PASSWORD)
        assert result["__typename"] == "User", result
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def server_with(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start one SQLite server with changed settings (at most one per test).

    The ORM is process-wide, so a module that uses this must not also use ``server``.
    """
    async with AsyncExitStack() as stack:

        async def start(**changes: Any) -> RunningServer:
            url = await stack.enter_async_context(database("sqlite", tmp_path))
            settings = make_settings(tmp_path, url, **changes)
            await migrate_database(settings)
            return await stack.enter_async_context(running_server(settings))

        yield start


@pytest_asyncio.fixture(loop_scope="session")
async def redis_server() -> AsyncIterator[RedisServer]:
    """A private redis-server for one test, which it may kill and start again."""
    async with RedisServer() as redis:
        yield redis
