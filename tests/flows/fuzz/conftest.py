"""A real server process for the fuzz tests, its log, and the size of a fuzz run.

``GENCASTER_FUZZ_EXAMPLES`` sets how many examples each property tries: few by
default so the suite stays quick, thousands for an occasional deep run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
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
    ROOT,
    STAFF_PASSWORD,
    STAFF_USER,
    prepare_database,
    server_env,
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
    port, osc_port = free_port(), free_port(socket.SOCK_DGRAM)
    env = server_env(
        str(tmp),
        port=str(port),
        osc_port=str(osc_port),
        osc_host="127.0.0.1",
        osc_password="fuzz-secret",
        **extra,
    )
    await asyncio.to_thread(prepare_database, env)
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once per module
            [sys.executable, "-m", "gencaster.cli", "serve"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await asyncio.to_thread(_wait_until_up, port, process)
        yield FuzzServer(port, osc_port, log, await asyncio.to_thread(_login, port))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/graphql?query={{__typename}}", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start in time")


def _login(port: int) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) "
            "{ authLogin(username: $u, password: $p) { __typename } }",
            "variables": {"u": STAFF_USER, "p": STAFF_PASSWORD},
        },
        timeout=60,
    )
    assert response.json()["data"]["authLogin"]["__typename"] == "User", response.text
    return response.cookies[SESSION_COOKIE]
