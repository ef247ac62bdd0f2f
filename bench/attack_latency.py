"""Other clients' latency while hostile callers attack the server, one attack at a time.

    .venv/bin/python -m bench.attack_latency [--seconds 8] [--attacks cost logins ...]

Starts ``gencaster serve`` (SQLite, OSC on loopback, one trusted proxy so that
attackers can claim addresses) with one public graph of a few nodes and doors. For
each phase a probe in this process asks ``{ __typename }`` over HTTP every 10 ms,
while the attack runs from a process of its own, flat out, for ``--seconds``:

- ``none``: nothing (the baseline of the same run)
- ``cost``: 8 clients send the most expensive read the limits admit, and the depth-17
  door-cycle query the limits refuse, over and over
- ``logins-one-address``: 24 clients send wrong logins from one address
- ``logins-many``: 24 clients send wrong logins, each from a new address and name
- ``big-input``: 4 clients send 1 MB user names
- ``trickle``: 60 connections send a request head one byte every 0.5 s
- ``idle-ws``: 60 WebSockets that never send ``connection_init``, reopened when closed
- ``osc``: forged and malformed OSC datagrams, as fast as one process sends them

Prints, per phase, the probe's p50/p99/max and how many attack requests the server
answered; the issue's target is a p99 under 100 ms during every attack. The worst
sandbox cells are measured the same way by ``bench.sandbox_attack``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect

from bench.support import percentile
from tests.support.builders import add_graph, add_node, connect, default_door
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
from tests.transport.test_limits import DEEP_QUERY, nested

LOGIN = (
    "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) { __typename } }"
)
# The deepest door-cycle read the default limits still admit.
COSTLY_QUERY = nested(5)
ATTACKS = (
    "none",
    "cost",
    "logins-one-address",
    "logins-many",
    "big-input",
    "trickle",
    "idle-ws",
    "osc",
)


async def _loop_requests(
    count: int, until: float, send: Callable[[httpx.AsyncClient, int], Awaitable[Any]]
) -> int:
    """``count`` clients calling ``send`` until ``until``; the number of answers."""
    answered = 0

    async def client(index: int) -> None:
        nonlocal answered
        async with httpx.AsyncClient(timeout=30) as http:
            while time.monotonic() < until:
                try:
                    await send(http, index)
                    answered += 1
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(client(index) for index in range(count)))
    return answered


def _login_sender(url: str, *, many: bool) -> Callable[[httpx.AsyncClient, int], Awaitable[Any]]:
    async def send(http: httpx.AsyncClient, index: int) -> Any:
        if many:
            name, address = (
                uuid.uuid4().hex,
                f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}",
            )
        else:
            name, address = f"victim-{index}", "203.0.113.9"
        variables = {"u": name, "p": "wrong-password"}
        headers = {"X-Forwarded-For": address}
        return await http.post(url, json={"query": LOGIN, "variables": variables}, headers=headers)

    return send


async def _cost(url: str, until: float) -> int:
    async def send(http: httpx.AsyncClient, index: int) -> Any:
        query = COSTLY_QUERY if index % 2 else DEEP_QUERY
        headers = {"X-Forwarded-For": f"198.51.100.{index}"}
        return await http.get(url, params={"query": query}, headers=headers)

    return await _loop_requests(8, until, send)


async def _big_input(url: str, until: float) -> int:
    name = "n" * (1024 * 1024)

    async def send(http: httpx.AsyncClient, index: int) -> Any:
        variables = {"u": name, "p": "wrong-password"}
        return await http.post(url, json={"query": LOGIN, "variables": variables})

    return await _loop_requests(4, until, send)


async def _trickle(host: str, port: int, until: float) -> int:
    opened = 0

    async def one() -> None:
        nonlocal opened
        while time.monotonic() < until:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            opened += 1
            head = (
                b"GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
            )
            try:
                for byte in head:
                    if time.monotonic() >= until or reader.at_eof():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.5)
            except OSError:
                pass
            writer.close()

    await asyncio.gather(*(one() for _ in range(60)))
    return opened


async def _idle_ws(ws_url: str, until: float) -> int:
    opened = 0

    async def one() -> None:
        nonlocal opened
        while time.monotonic() < until:
            try:
                async with ws_connect(ws_url, subprotocols=["graphql-ws"]) as socket_:  # type: ignore[list-item]
                    opened += 1
                    await asyncio.wait_for(
                        socket_.wait_closed(), max(0.1, until - time.monotonic())
                    )
            except (OSError, TimeoutError, Exception):
                await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(60)))
    return opened


def _osc_datagrams() -> list[bytes]:
    def padded(text: bytes) -> bytes:
        return text + b"\0" * (4 - len(text) % 4)

    forged = (
        padded(b"/acknowledge")
        + padded(b",ssss")
        + b"".join(
            padded(part) for part in (b"uuid", str(uuid.uuid4()).encode(), b"status", b"FINISHED")
        )
    )
    beacon = padded(b"/beacon") + padded(b",ss") + padded(b"name") + padded(b"rogue")
    return [forged, beacon, b"", b"\xff" * 64, os.urandom(512)]


async def _osc(host: str, port: int, until: float) -> int:
    datagrams = _osc_datagrams()
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.setblocking(False)
        while time.monotonic() < until:
            for datagram in datagrams:
                try:
                    udp.sendto(datagram, (host, port))
                    sent += 1
                except BlockingIOError:
                    await asyncio.sleep(0)
            await asyncio.sleep(0)
    return sent


async def _attack(name: str, server: dict[str, Any], seconds: float) -> int:
    until = time.monotonic() + seconds
    url, host, port = server["url"], server["host"], server["port"]
    if name == "cost":
        return await _cost(url, until)
    if name in ("logins-one-address", "logins-many"):
        send = _login_sender(url, many=name == "logins-many")
        return await _loop_requests(24, until, send)
    if name == "big-input":
        return await _big_input(url, until)
    if name == "trickle":
        return await _trickle(host, port, until)
    if name == "idle-ws":
        return await _idle_ws(server["ws_url"], until)
    if name == "osc":
        return await _osc(host, server["osc_port"], until)
    await asyncio.sleep(seconds)
    return 0


def _attack_process(
    name: str, server: dict[str, Any], seconds: float, result: Synchronized[int]
) -> None:
    result.value = asyncio.run(_attack(name, server, seconds))


async def _probe(url: str, stop: asyncio.Event) -> list[float]:
    """Latencies (ms) of ``{ __typename }``, one request every 10 ms, until ``stop``."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        while not stop.is_set():
            started = time.perf_counter()
            response = await http.get(url, params={"query": "{ __typename }"})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
    return latencies


async def _phase(name: str, running: ServerProcess, osc_port: int, seconds: float) -> None:
    server = {
        "url": running.url,
        "ws_url": running.ws_url,
        "host": "127.0.0.1",
        "port": running.port,
        "osc_port": osc_port,
    }
    context = multiprocessing.get_context("spawn")
    result = context.Value("q", 0)
    attacker = context.Process(target=_attack_process, args=(name, server, seconds, result))
    attacker.start()
    await asyncio.sleep(0.5)  # the attacker's interpreter starting is not the attack
    stop = asyncio.Event()
    probing = asyncio.create_task(_probe(running.url, stop))
    await asyncio.to_thread(attacker.join)
    stop.set()
    latencies = await probing
    print(
        f"{name:>19}: probe n={len(latencies):4d} p50 {percentile(latencies, 0.5):6.1f} ms  "
        f"p99 {percentile(latencies, 0.99):6.1f} ms  max {max(latencies, default=0):6.1f} ms  "
        f"attack answered={result.value}",
        flush=True,
    )


async def _build_graph(running: ServerProcess) -> None:
    """A public graph whose four nodes form a ring, so door-cycle reads find work."""
    async with GraphQLClient(running.url) as staff:
        await staff.login(STAFF_USER, STAFF_PASSWORD)
        graph = await add_graph(staff, "attacked", publicVisible=True)
        nodes = [graph["nodes"][0]]
        for name in ("a", "b", "c"):
            nodes.append(await add_node(staff, graph["uuid"], name))
        for here, there in zip(nodes, nodes[1:] + nodes[:1], strict=True):
            await connect(staff, default_door(here, "out"), default_door(there, "in"))


async def main(seconds: float, attacks: list[str]) -> None:
    osc_port = free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
        env = server_env(data_dir, osc_port=str(osc_port), osc_host="127.0.0.1", proxies_count="1")
        await asyncio.to_thread(prepare_database, env)
        async with server_process(env) as running:
            await _build_graph(running)
            print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
            for name in attacks:
                await _phase(name, running, osc_port, seconds)
            print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.attacks))
