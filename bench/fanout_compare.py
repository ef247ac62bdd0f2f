"""Fan-out of one ``updateNode`` to N ``graph`` subscribers, against the bare-Sanic ceiling.

    .venv/bin/python -m bench.fanout_compare --watchers 1000 5000 10000 [--updates 10]
        [--clients 4] [--spacing 1.0] [--only gencaster|baseline] [--repeat 1]

For each N, Gencaster (``bench.server_main``: SQLite, in-process broker,
statements not counted) and ``bench.baseline_fanout`` (same frames, no GraphQL,
database or broker), in turn ``--repeat`` times, each get N ``graphql-transport-ws`` sockets from
``--clients`` client processes (so the client is not the bottleneck), subscribed to
one graph; then M position changes are sent ``--spacing`` seconds apart. Printed per
server and N: server CPU per update (user + system time of the server process over
the updates, divided by M), delivery latency p50/p99/max from the change's request to
each socket's frame, the fraction delivered, server RSS per subscribed socket, and
the collection pauses during the updates (count, full collections, longest). Then,
per N, the medians over the repeats and the ratios Gencaster / baseline (memory from
each server's first round at that N: later rounds reuse what earlier ones freed, so
run one N per command for a clean figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

from bench.baseline_fanout import POSITION_MARK
from bench.support import percentile, server, staff_session
from gencaster.auth import SESSION_COOKIE
from tests.support.polling import eventually
from tests.support.processes import ServerProcess
from tests.support.server import free_port

GRAPH_SUB = (
    "subscription($g: UUID!) { graph(graphUuid: $g) { uuid nodes { uuid name positionX } } }"
)
UPDATE_NODE = "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }"


@dataclass
class Target:
    """One server under test: where its sockets go and how a change is made."""

    name: str
    pid: int
    ws_url: str
    cookie: str
    graph_uuid: str
    change: Any  # async (position) -> None


# ---------------------------------------------------------------- client processes


def _client_process(
    ws_url: str, cookie: str, graph_uuid: str, count: int, pipe: Connection
) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_client_main(ws_url, cookie, graph_uuid, count, pipe))


async def _client_main(
    ws_url: str, cookie: str, graph_uuid: str, count: int, pipe: Connection
) -> None:
    arrivals: list[tuple[float, float]] = []  # (positionX, monotonic arrival)
    sockets: list[Any] = []
    subscribe = json.dumps(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": GRAPH_SUB, "variables": {"g": graph_uuid}},
        }
    )

    async def one() -> None:
        socket = await connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else None,
            max_queue=None,
            open_timeout=120,
            compression=None,
        )
        sockets.append(socket)
        await socket.send('{"type":"connection_init","payload":{}}')
        await socket.recv()
        await socket.send(subscribe)
        await socket.recv()  # the graph as it is now

    for start in range(0, count, 200):
        await asyncio.gather(*(one() for _ in range(min(200, count - start))))
    pipe.send(("ready", len(sockets)))

    async def read(socket: Any) -> None:
        async for raw in socket:
            now = time.monotonic()
            marker = raw.rfind('"positionX":')
            if marker >= 0:
                value = raw[marker + 12 :].split("}", 1)[0].split(",", 1)[0]
                arrivals.append((float(value), now))

    readers = [asyncio.create_task(read(socket)) for socket in sockets]
    await asyncio.to_thread(pipe.recv)  # "stop"
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    pipe.send(("arrivals", arrivals))
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


# ---------------------------------------------------------------- one round


def _server_processes(pid: int) -> list[psutil.Process]:
    """The server and its workers (``gencaster serve`` with several has children)."""
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def _cpu_seconds(pid: int) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in _server_processes(pid))


def _rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in _server_processes(pid)) / 1e6


NO_GC_FIGURES = {
    "count": 0,
    "full": 0,
    "full_max_ms": 0.0,
    "max_ms": 0.0,
    "tracked": 0,
    "frozen": 0,
}


async def _gc_figures(http: httpx.AsyncClient, base: str) -> dict[str, float]:
    """The server's collection figures, or zeros from a server without /_bench/gc."""
    answer = await http.get(f"{base}/_bench/gc")
    return answer.json() if answer.status_code == 200 else dict(NO_GC_FIGURES)


async def run_round(
    target: Target, base: str, watchers: int, updates: int, clients: int, spacing: float
) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    rss_before = _rss_mb(target.pid)
    async with httpx.AsyncClient(timeout=120) as http:
        tracked_before = await _gc_figures(http, base)
    if os.environ.get("PYTHONTRACEMALLOC"):
        async with httpx.AsyncClient(timeout=120) as http:
            await http.get(f"{base}/_bench/memory")
    started = time.monotonic()
    for index in range(clients):
        count = watchers // clients + (1 if index < watchers % clients else 0)
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_client_process,
            args=(target.ws_url, target.cookie, target.graph_uuid, count, theirs),
        )
        process.start()
        pipes.append(ours)
        processes.append(process)
    for pipe in pipes:
        kind, _ = await asyncio.to_thread(pipe.recv)
        assert kind == "ready"
    connect_s = time.monotonic() - started
    await asyncio.sleep(1.0)
    rss_joined = _rss_mb(target.pid)
    if os.environ.get("PYTHONTRACEMALLOC"):
        async with httpx.AsyncClient(timeout=120) as http:
            print((await http.get(f"{base}/_bench/memory")).text, flush=True)
    async with httpx.AsyncClient(timeout=120) as http:
        await _gc_figures(http, base)
        cpu_before = _cpu_seconds(target.pid)
        sent: dict[float, float] = {}
        for index in range(1, updates + 1):
            position = float(index)
            sent[position] = time.monotonic()
            await target.change(position)
            await asyncio.sleep(spacing)
        cpu = (_cpu_seconds(target.pid) - cpu_before) / updates
        collections = await _gc_figures(http, base)
    latencies, delivered = [], 0
    for pipe in pipes:
        pipe.send("stop")
    for pipe in pipes:
        kind, arrivals = await asyncio.to_thread(pipe.recv)
        for position, arrived in arrivals:
            if position in sent:
                latencies.append((arrived - sent[position]) * 1000)
                delivered += 1
    for process in processes:
        await asyncio.to_thread(process.join, 30)
    await asyncio.sleep(3.0)  # the server notices every close
    rss_closed = _rss_mb(target.pid)
    async with httpx.AsyncClient(timeout=120) as http:
        tracked_after = await _gc_figures(http, base)
    figures = {
        "cpu_ms": cpu * 1000,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "delivered": delivered / (watchers * updates),
        "kib_per_socket": (rss_joined - rss_before) * 1e6 / 1024 / watchers,
        "connect_s": connect_s,
        "kept_kib_per_socket": (rss_closed - rss_before) * 1e6 / 1024 / watchers,
        "gc_count": collections["count"],
        "gc_full": collections["full"],
        "gc_max_ms": collections["max_ms"],
        "tracked_after": tracked_after["tracked"],
        "frozen_after": tracked_after["frozen"],
    }
    print(
        f"{target.name:>9} N={watchers:5d} M={updates}: CPU/update {figures['cpu_ms']:7.1f} ms | "
        f"latency ms p50 {figures['p50']:7.1f} p99 {figures['p99']:7.1f} "
        f"max {figures['max']:7.1f} | delivered {figures['delivered']:.4f} | "
        f"{figures['kib_per_socket']:5.1f} KiB/socket "
        f"({figures['kept_kib_per_socket']:5.1f} kept after close) | connect {connect_s:5.1f} s | "
        f"gc {collections['count']} ({collections['full']} full, longest "
        f"{collections['max_ms']:.1f} ms, longest full {collections['full_max_ms']:.1f} ms) | "
        f"objects tracked {tracked_before['tracked']} -> {tracked_after['tracked']} after close, "
        f"frozen {tracked_before['frozen']} -> {tracked_after['frozen']}",
        flush=True,
    )
    return figures


# ---------------------------------------------------------------- the two servers


async def gencaster_graph(
    name: str, pid: int, running: ServerProcess, http: httpx.AsyncClient
) -> Target:
    """A new graph on a running Gencaster, and the ``Target`` that watches and moves it."""
    graph = (
        await http.post(
            running.url,
            json={
                "query": "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) "
                "{ uuid nodes { uuid } } }",
                "variables": {
                    "i": {
                        "name": "fanout",
                        "displayName": "fanout",
                        "slugName": "fanout",
                        "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                        "templateName": "DEFAULT",
                    }
                },
            },
        )
    ).json()["data"]["addGraph"]
    node_uuid = graph["nodes"][0]["uuid"]

    async def change(position: float) -> None:
        variables = {"u": {"uuid": node_uuid, "positionX": position}}
        response = await http.post(running.url, json={"query": UPDATE_NODE, "variables": variables})
        response.raise_for_status()

    cookie = http.cookies[SESSION_COOKIE]
    return Target(name, pid, running.ws_url, cookie, graph["uuid"], change)


@asynccontextmanager
async def gencaster_target() -> AsyncIterator[tuple[Target, str, str]]:
    """Gencaster with a graph; also yields its first ``next`` frame as a template."""
    settings = {"max_connections_per_address": "100000", "ws_init_timeout_s": "120"}
    os.environ["GENCASTER_BENCH_COUNT_QUERIES"] = "0"
    async with server(**settings) as running:
        http = await staff_session(running)
        target = await gencaster_graph("gencaster", running.process.pid, running, http)
        frame = await _first_frame(running.ws_url, target.cookie, target.graph_uuid)
        try:
            yield target, f"http://127.0.0.1:{running.port}", frame
        finally:
            await http.aclose()


async def _first_frame(ws_url: str, cookie: str, graph_uuid: str) -> str:
    async with connect(
        ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
    ) as socket:
        await socket.send('{"type":"connection_init","payload":{}}')
        await socket.recv()
        payload = {"query": GRAPH_SUB, "variables": {"g": graph_uuid}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return str(await socket.recv())


@asynccontextmanager
async def baseline_target(frame: str, graph_uuid: str) -> AsyncIterator[tuple[Target, str]]:
    marker = frame.rfind('"positionX":') + len('"positionX":')
    end = min(i for i in (frame.find(",", marker), frame.find("}", marker)) if i >= 0)
    template = frame[:marker] + POSITION_MARK + frame[end:]
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        file.write(template)
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.baseline_fanout", "--port", str(port), "--frame", file.name),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    http = httpx.AsyncClient(timeout=120)

    async def up() -> bool:
        try:
            return (await http.get(f"{base}/_bench/gc")).status_code == 200
        except httpx.HTTPError:
            return False

    async def change(position: float) -> None:
        (
            await http.post(f"{base}/broadcast", params={"position": repr(position)})
        ).raise_for_status()

    try:
        await eventually(up, within=30, message="the baseline did not start")
        yield (
            Target(
                "baseline", process.pid, f"ws://127.0.0.1:{port}/graphql", "", graph_uuid, change
            ),
            base,
        )
    finally:
        await http.aclose()
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        os.unlink(file.name)


async def main(arguments: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    async with AsyncExitStack() as stack:
        gencaster, gencaster_base, frame = await stack.enter_async_context(gencaster_target())
        print(f"frame: {len(frame.encode())} bytes", flush=True)
        targets = []
        if arguments.only != "baseline":
            targets.append((gencaster, gencaster_base))
        if arguments.only != "gencaster":
            targets.append(
                await stack.enter_async_context(baseline_target(frame, gencaster.graph_uuid))
            )
        # Back to back, alternating, so that both meet the same load on a shared machine.
        for watchers in arguments.watchers:
            for _ in range(arguments.repeat):
                for target, base in targets:
                    figures = await run_round(
                        target,
                        base,
                        watchers,
                        arguments.updates,
                        arguments.clients,
                        arguments.spacing,
                    )
                    results.setdefault((target.name, watchers), []).append(figures)
    for watchers in arguments.watchers:
        _print_ratio(
            watchers, results.get(("gencaster", watchers)), results.get(("baseline", watchers))
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


def _print_ratio(
    watchers: int, ours: list[dict[str, float]] | None, ceiling: list[dict[str, float]] | None
) -> None:
    """Medians over the repeats, and their ratios."""
    if not ours or not ceiling:
        return

    def median(rounds: list[dict[str, float]], key: str) -> float:
        return statistics.median(figures[key] for figures in rounds)

    line = f"    median of {len(ours)} N={watchers:5d}:"
    for key, label in (("cpu_ms", "CPU/update"), ("p99", "p99")):
        mine, theirs = median(ours, key), median(ceiling, key)
        line += f" | {label} {mine:.1f} against {theirs:.1f} = {mine / max(theirs, 1e-9):.2f}x"
    # Later rounds reuse memory the earlier ones freed: only the first one says what a
    # socket costs.
    mine, theirs = ours[0]["kib_per_socket"], ceiling[0]["kib_per_socket"]
    line += f" | KiB/socket (first round) {mine:.1f} against {theirs:.1f}"
    line += f" | longest gc pause {max(r['gc_max_ms'] for r in ours):.1f} ms"
    line += f" (baseline {max(r['gc_max_ms'] for r in ceiling):.1f} ms)"
    print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--spacing", type=float, default=1.0)
    parser.add_argument("--only", choices=["gencaster", "baseline"])
    parser.add_argument("--repeat", type=int, default=1, help="rounds per server and N")
    asyncio.run(main(parser.parse_args()))
