"""Media read latency and server memory during a flood of wrong logins.

    .venv/bin/python -m bench.login_flood [--root DIR] [--seconds 10] [--parallel 24]

Starts ``gencaster serve`` from ``--root`` (default: this checkout) in its own process,
reads a 1 MB media file in a loop, first alone and then while ``--parallel`` clients
send wrong logins as fast as they can, and prints the read latencies and the server's
RSS. Two floods: all logins from one address (the throttle refuses them early), and
each from its own forwarded address and name (nothing throttles; only the hashing
pool of its own keeps file reads apart). For a baseline, check out an older commit
(``git worktree add /tmp/base <commit>``) and pass ``--root /tmp/base``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.support import percentile
from tests.support.server import free_port

LOGIN = (
    "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) { __typename } }"
)
MEDIA_BYTES = 1024 * 1024


def _env(data_dir: str, root: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(root),
        "GENCASTER_DATA_DIR": data_dir,
        "GENCASTER_PORT": str(port),
        "GENCASTER_OSC_PORT": "0",
        "GENCASTER_SECRET_KEY": "bench-secret-key",
        "GENCASTER_PROXIES_COUNT": "1",
    }


def _start(root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gencaster.cli"]
    subprocess.run([*command, "migrate"], env=env, cwd=root, check=True, capture_output=True)
    return subprocess.Popen(
        [*command, "serve"],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_up(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(600):
        try:
            await client.get(url, params={"query": "{ __typename }"})
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def _reads(client: httpx.AsyncClient, url: str, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = await client.get(url)
        assert response.status_code == 200 and len(response.content) == MEDIA_BYTES
        latencies.append(time.perf_counter() - started)
    return latencies


async def _flood(
    client: httpx.AsyncClient, url: str, *, flooder: int, spread: bool, stop: asyncio.Event
) -> int:
    """Wrong logins until ``stop``; returns how many were answered."""
    answered = 0
    for number in itertools.count():
        if stop.is_set():
            return answered
        headers = {"X-Forwarded-For": f"10.{flooder}.{number // 250 % 250}.{number % 250}"}
        name = f"nobody-{number}" if spread else "admin"
        payload = {"query": LOGIN, "variables": {"u": name, "p": f"guess-{number}"}}
        await client.post(url, json=payload, headers=headers if spread else {})
        answered += 1
    return answered


def _figures(label: str, latencies: list[float], rss: float, logins: int = 0) -> None:
    print(
        f"{label:34} reads={len(latencies):4d} p50={percentile(latencies, 0.5) * 1000:8.1f} ms "
        f"p99={percentile(latencies, 0.99) * 1000:8.1f} ms max={max(latencies) * 1000:8.1f} ms "
        f"rss={rss:6.0f} MB logins answered={logins}"
    )


async def run(root: Path, seconds: float, parallel: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
        media = Path(data_dir) / "media" / "bench"
        media.mkdir(parents=True)
        (media / "tone.wav").write_bytes(os.urandom(MEDIA_BYTES))
        port = free_port()
        process = _start(root, _env(data_dir, root, port))
        try:
            await _measure(process, f"http://127.0.0.1:{port}", seconds, parallel)
        finally:
            process.terminate()
            process.wait(30)


def _flood_process(
    url: str, spread: bool, parallel: int, seconds: float, answered: multiprocessing.Queue
) -> None:
    """The flood runs in a process of its own, so it does not slow the reader's loop."""

    async def flood() -> int:
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=parallel)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            tasks = [
                asyncio.create_task(_flood(client, url, flooder=index, spread=spread, stop=stop))
                for index in range(parallel)
            ]
            await asyncio.sleep(seconds)
            stop.set()
            return sum(await asyncio.gather(*tasks))

    answered.put(asyncio.run(flood()))


async def _measure(
    process: subprocess.Popen[bytes], base: str, seconds: float, parallel: int
) -> None:
    server = psutil.Process(process.pid)
    async with httpx.AsyncClient(timeout=120) as client:
        await _wait_up(client, f"{base}/graphql")
        media = f"{base}/media/bench/tone.wav"
        quiet = await _reads(client, media, seconds / 2)
        _figures("no logins", quiet, server.memory_info().rss / 1e6)
        for spread in (False, True):
            answered: multiprocessing.Queue = multiprocessing.Queue()
            flooder = multiprocessing.Process(
                target=_flood_process,
                args=(f"{base}/graphql", spread, parallel, seconds + 1.0, answered),
            )
            flooder.start()
            await asyncio.sleep(0.5)
            latencies = await _reads(client, media, seconds)
            rss = server.memory_info().rss / 1e6
            logins = await asyncio.to_thread(answered.get)
            await asyncio.to_thread(flooder.join)
            label = f"{parallel} floods, " + ("one name per login" if spread else "one address")
            _figures(label, latencies, rss, logins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--parallel", type=int, default=24)
    args = parser.parse_args()
    print(f"server code: {args.root}")
    asyncio.run(run(args.root, args.seconds, args.parallel))


if __name__ == "__main__":
    main()
