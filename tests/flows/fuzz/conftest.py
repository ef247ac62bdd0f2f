"""A real server process for the fuzz tests, its log, and the size of a fuzz run.

``GENCASTER_FUZZ_EXAMPLES`` sets how many examples each property tries: few by
default so the suite stays quick, thousands for an occasional deep run.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from gencaster.auth import SESSION_COOKIE
from tests.support.databases import database
from tests.support.processes import (
    prepare_database,
    server_env,
    server_process,
    staff_session,
)
from tests.support.server import free_port

FUZZ_EXAMPLES = int(os.environ.get("GENCASTER_FUZZ_EXAMPLES", "10"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass
class FuzzServer:
    port: int
    osc_port: int
    log: Path
    staff_cookie: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def cookies(self, staff: bool) -> dict[str, str]:
        return {SESSION_COOKIE: self.staff_cookie} if staff else {}

    def assert_alive_and_clean(self) -> None:
        """The server still answers, and nothing it logged is a traceback."""
        response = httpx.get(self.url, params={"query": "{ __typename }"}, timeout=30)
        assert response.json() == {"data": {"__typename": "Query"}}
        text = self.log.read_text(errors="replace")
        assert "Traceback" not in text, text[text.index("Traceback") - 500 :][:4000]


@pytest_asyncio.fixture(scope="package", loop_scope="session", params=["sqlite", "postgres"])
async def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FuzzServer]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    async with database(request.param, tmp) as url, serving(tmp, database_url=url) as server:
        yield server


@asynccontextmanager
async def serving(tmp: Path, **extra: str) -> AsyncIterator[FuzzServer]:
    """``gencaster serve`` in a process of its own, its output in ``server.log``."""
    osc_port = free_port(socket.SOCK_DGRAM)
    env = server_env(
        str(tmp),
        osc_port=str(osc_port),
        osc_host="127.0.0.1",
        osc_password="fuzz-secret",
        **extra,
    )
    await asyncio.to_thread(prepare_database, env)
    log = tmp / "server.log"
    async with server_process(env, output=log) as server:
        staff = await staff_session(server)
        cookie = staff.cookies[SESSION_COOKIE]
        await staff.aclose()
        yield FuzzServer(server.port, osc_port, log, cookie)
