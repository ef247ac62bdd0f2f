"""Gencaster servers and Redis servers in processes of their own, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
STAFF_USER = "staff"
STAFF_PASSWORD = "staff-password-123"


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def gencaster(args: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> str:
    """Run a ``gencaster`` command to completion; its standard output."""
    command = [sys.executable, "-m", "gencaster.cli", *args]
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"gencaster {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def server_env(data_dir: str, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "GENCASTER_DATA_DIR": data_dir,
        "GENCASTER_OSC_PORT": "0",
        "GENCASTER_SECRET_KEY": "test-secret-key",
        **{f"GENCASTER_{key.upper()}": value for key, value in settings.items()},
    }


def prepare_database(env: dict[str, str]) -> None:
    """Migrate and create the staff user (once per database)."""
    gencaster(["migrate"], env)
    gencaster(
        ["createuser", STAFF_USER, "--staff", "--password-stdin"], env, STAFF_PASSWORD.encode()
    )


@asynccontextmanager
async def server_process(
    env: dict[str, str], module: str = "gencaster.cli", args: Sequence[str] = ("serve",)
) -> AsyncIterator[ServerProcess]:
    """``python -m module args`` with its own free port, stopped with SIGTERM afterwards."""
    port = free_port()
    env = {**env, "GENCASTER_PORT": str(port)}
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the test's work
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _wait_until_up(port, process)
        yield ServerProcess(process, port, env)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


async def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                await client.get(f"http://127.0.0.1:{port}/graphql?query={{__typename}}")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start in time")


async def staff_session(server: ServerProcess) -> httpx.AsyncClient:
    """An HTTP client logged in as the staff user (its cookie works on every process)."""
    client = httpx.AsyncClient(timeout=60)
    response = await client.post(
        server.url,
        json={
            "query": "mutation($u: String!, $p: String!) "
            "{ authLogin(username: $u, password: $p) { __typename } }",
            "variables": {"u": STAFF_USER, "p": STAFF_PASSWORD},
        },
    )
    assert response.json()["data"]["authLogin"]["__typename"] == "User", response.text
    return client


class RedisServer:
    """A private ``redis-server`` on a free port that tests may kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="gencaster-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a test fixture's set-up
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    async def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
            self.process = None

    async def close(self) -> None:
        await self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
