"""Shared pieces of the benchmarks: a real server process and a staff session."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 1e6


def _gencaster(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> None:
    command = [sys.executable, "-m", "gencaster.cli", *args]
    subprocess.run(command, env=env, input=stdin, check=True, capture_output=True, cwd=ROOT)


@asynccontextmanager
async def server_process(**settings: str) -> AsyncIterator[ServerProcess]:
    """``bench.server_main`` (the real app plus a query counter) in its own process."""
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
        port = free_port()
        env = {
            **os.environ,
            "GENCASTER_DATA_DIR": data_dir,
            "GENCASTER_PORT": str(port),
            "GENCASTER_OSC_PORT": "0",
            "GENCASTER_SECRET_KEY": "bench",
            **{f"GENCASTER_{key.upper()}": value for key, value in settings.items()},
        }
        _gencaster(["migrate"], env)
        _gencaster(["createuser", "bench", "--staff", "--password-stdin"], env, PASSWORD.encode())
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [sys.executable, "-m", "bench.server_main"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await _wait_until_up(port)
            yield ServerProcess(process, port, env)
        finally:
            process.terminate()
            process.wait(timeout=30)


async def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(f"http://127.0.0.1:{port}/_bench/queries")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


async def staff_client(server: ServerProcess) -> httpx.AsyncClient:
    client = httpx.AsyncClient(timeout=60)
    response = await client.post(
        server.url,
        json={
            "query": "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) "
            "{ __typename } }",
            "variables": {"u": "bench", "p": PASSWORD},
        },
    )
    assert response.json()["data"]["authLogin"]["__typename"] == "User"
    return client


async def query_count(server: ServerProcess) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"http://127.0.0.1:{server.port}/_bench/queries")).text)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
