"""Helpers for the broker tests: a private redis-server and polling with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


async def wait_until(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], *, within: float = 10.0
) -> None:
    """Poll ``predicate`` until it holds; fail with TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)


def free_port() -> int:
    """A port the OS just handed out, so it is unlikely to be taken (unlike a random one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throw-away redis-server on a fixed port that tests may kill and restart."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.url = f"redis://127.0.0.1:{port}"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await wait_until(self._answers_ping)

    async def kill(self) -> None:
        """SIGKILL, so the server gets no chance to close its connections politely."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    def client(self, db: int = 0) -> Redis:
        return Redis.from_url(f"{self.url}/{db}")

    async def _answers_ping(self) -> bool:
        if self._process is not None and self._process.returncode is not None:
            raise RuntimeError(f"redis-server on port {self.port} exited at start-up")
        client = self.client()
        try:
            return bool(await client.ping())
        except (RedisConnectionError, OSError):
            return False
        finally:
            await client.aclose()
