"""Gencaster servers and Redis servers in processes of their own, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.polling import eventually
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
    env: dict[str, str],
    module: str = "gencaster.cli",
    args: Sequence[str] = ("serve",),
    *,
    output: Path | None = None,
    port: int | None = None,
) -> AsyncIterator[ServerProcess]:
    """``python -m module args`` on ``port`` (or a free one), stopped with SIGTERM afterwards.

    ``output`` receives what the process writes (standard output and error, its log).
    """
    port = port or free_port()
    env = {**env, "GENCASTER_PORT": str(port)}
    sink = output.open("wb") if output is not None else subprocess.DEVNULL
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the test's work
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        stdout=sink,
        stderr=subprocess.STDOUT if output is not None else subprocess.DEVNULL,
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
        if output is not None:
            sink.close()  # type: ignore[union-attr]


async def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                await client.get(f"http://127.0.0.1:{port}/graphql?query={{__typename}}")
            except httpx.TransportError:
                return False
            return True

        await eventually(answers, within=60, message="the server did not start in time")


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

    def __init__(self, directory: Path | None = None) -> None:
        self.port = free_port()
        self._own_directory = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="gencaster-redis-"))
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The server without a database number; ``client(db)`` and brokers add one."""
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await eventually(self._answers_ping, within=30, message="redis-server did not start")

    def client(self, db: int = 0) -> Redis:
        return Redis.from_url(f"{self.url}/{db}")

    async def kill(self) -> None:
        """SIGKILL, so the server gets no chance to close its connections politely."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        await self.kill()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    async def __aenter__(self) -> RedisServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _answers_ping(self) -> bool:
        if self.process is not None and self.process.returncode is not None:
            raise RuntimeError(f"redis-server on port {self.port} exited at start-up")
        client = self.client()
        try:
            return bool(await client.ping())
        except (RedisConnectionError, OSError):
            return False
        finally:
            await client.aclose()
