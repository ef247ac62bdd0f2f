"""Shared pieces of the benchmarks: a real server process with a query counter."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil

from tests.support.processes import (
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
    staff_session,
)

__all__ = ["percentile", "query_count", "rss_mb", "server", "staff_session"]


@asynccontextmanager
async def server(
    profile: Path | None = None, log: Path | None = None, **settings: str
) -> AsyncIterator[ServerProcess]:
    """``bench.server_main`` (the real app plus ``GET /_bench/queries``) in its own process.

    With ``profile``, the server runs under cProfile and writes its statistics there
    when it stops (read them with ``python -m pstats``); ``log`` receives its output.
    """
    module, args = "bench.server_main", ()
    if profile is not None:
        module, args = "cProfile", ("-o", str(profile), "-m", "bench.server_main")
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
        env = server_env(data_dir, **settings)
        await asyncio.to_thread(prepare_database, env)
        async with server_process(env, module=module, args=args, output=log) as running:
            yield running


def rss_mb(server: ServerProcess) -> float:
    return psutil.Process(server.process.pid).memory_info().rss / 1e6


async def query_count(server: ServerProcess) -> int:
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{server.port}/_bench/queries"
        return int((await client.get(url)).text)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
