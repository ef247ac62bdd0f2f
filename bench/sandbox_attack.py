"""Other clients' latency while listeners walk the worst sandbox code we know.

    .venv/bin/python -m bench.sandbox_attack [--listeners 1] [--rounds 3] [--seconds 5]

Starts a real server (SQLite, in-process OSC) and a fake stream point per listener,
builds the attack graph of ``tests.support.attacks`` (cells that once held the event
loop for seconds or for ever inside one C call, a heavy markdown token and door, then a
dialog flood), and asks ``{ __typename }`` over HTTP every 10 ms: first for
``--seconds`` with no attack, then while ``--listeners`` listeners walk the graph
``--rounds`` times each. Prints p50/p99/max latency of those requests for both phases;
the target during the attack is a p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import httpx

from bench.support import percentile
from gencaster.streaming.osc import FakeStreamPoint
from tests.support.attacks import build_attack_graph, walk_attack
from tests.support.graphql import GraphQLClient
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port
from tests.support.ws import graphql_socket


async def ask(url: str, stop: asyncio.Event) -> list[float]:
    """Latencies (seconds) of small requests, one every 10 ms, until ``stop``."""
    latencies = []
    async with httpx.AsyncClient(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get(url, params={"query": "{ __typename }"})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
    return latencies


async def measure(url: str, work: asyncio.Future[object] | None, seconds: float) -> list[float]:
    stop = asyncio.Event()
    asking = asyncio.create_task(ask(url, stop))
    if work is None:
        await asyncio.sleep(seconds)
    else:
        await work
    stop.set()
    return await asking


async def listener(ws_url: str, graph_uuid: str, rounds: int) -> None:
    for _ in range(rounds):
        async with graphql_socket(ws_url) as socket:
            await walk_attack(socket, graph_uuid)


def report(phase: str, latencies: list[float]) -> None:
    milliseconds = [value * 1000 for value in latencies]
    print(
        f"{phase:>8}: {len(milliseconds):5d} requests  "
        f"p50 {percentile(milliseconds, 0.5):7.1f} ms  "
        f"p99 {percentile(milliseconds, 0.99):7.1f} ms  "
        f"max {max(milliseconds, default=float('nan')):7.1f} ms"
    )


async def main(listeners: int, rounds: int, seconds: float) -> None:
    osc_port = free_port()
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
        env = server_env(data_dir, osc_port=str(osc_port))
        await asyncio.to_thread(prepare_database, env)
        async with server_process(env) as running:
            points = [
                FakeStreamPoint(server_host="127.0.0.1", server_port=osc_port, name=f"bench{i}")
                for i in range(listeners)
            ]
            for point in points:
                await point.start()
            try:
                await attack(running, listeners, rounds, seconds)
            finally:
                for point in points:
                    await point.close()


async def attack(running: ServerProcess, listeners: int, rounds: int, seconds: float) -> None:
    async with GraphQLClient(running.url) as staff:
        await staff.login(STAFF_USER, STAFF_PASSWORD)
        graphs = [await build_attack_graph(staff, f"attack-{i}") for i in range(listeners)]
    report("baseline", await measure(running.url, None, seconds))
    walks = asyncio.gather(*(listener(running.ws_url, graph["uuid"], rounds) for graph in graphs))
    started = time.perf_counter()
    report("attack", await measure(running.url, walks, seconds))
    took = time.perf_counter() - started
    print(f"   attack: {listeners} listeners x {rounds} walks in {took:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listeners", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.listeners, arguments.rounds, arguments.seconds))
