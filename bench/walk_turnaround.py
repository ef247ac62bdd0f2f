"""Turn-around on a whole walk: a cell's FINISHED leaves the point, the next cell arrives.

    .venv/bin/python -m bench.walk_turnaround [--cells 100] [--walks 3] [--database-url URL]

Where ``bench.instructions`` times the dispatcher alone, this runs the real server
in this process (SQLite in a temporary folder unless ``--database-url``; an
in-process broker and OSC server) and a fake stream point that answers at once,
and listens to a graph whose entry node holds ``--cells`` SuperCollider cells, so
everything the engine does between two cells is in the figure: acknowledgement
handling, the walk's saved state, the instruction row, the listeners' events. Both
ends are timed at the fake's socket (one clock): from the FINISHED of cell i
leaving it to cell i + 1 arriving. Printed: median, p90, p99 and max per walk, and
then, from the same process, what the figure stands on: the server's dispatcher
alone sending one instruction after the other to the same point (the engine's floor)
and a bare UDP echo on loopback through this event loop (the floor of any answer).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.support import percentile
from gencaster.auth import create_user
from gencaster.cli import migrate_database
from gencaster.settings import Settings
from gencaster.streaming.osc import FakeStreamPoint
from models import StreamPoint
from tests.support.builders import add_cells, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.server import free_port, running_server
from tests.support.ws import graphql_socket

STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on StreamInfo { stream { uuid } } } }"""
PASSWORD = "bench-password-123"
CELL_MARK = "bench-cell-"


class TimingPoint(FakeStreamPoint):
    """Notes when each cell arrives and when its FINISHED leaves, by the cell's code."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrived: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self._codes: dict[str, str] = {}

    def _answer(self, uuid: str, code: str, manual_finish: object) -> None:
        if CELL_MARK in code:
            self.arrived[code] = time.perf_counter()
            self._codes[uuid] = code
        super()._answer(uuid, code, manual_finish)

    def _send_finished(self, uuid: str, return_value: str) -> None:
        super()._send_finished(uuid, return_value)
        code = self._codes.get(uuid)
        if code is not None:
            self.finished[code] = time.perf_counter()


async def main(cells: int, walks: int, database_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data:
        settings = Settings(
            host="127.0.0.1",
            port=free_port(),
            data_dir=Path(data),
            osc_host="127.0.0.1",
            osc_port=free_port(socket.SOCK_DGRAM),
            secret_key="bench",
            **({"database_url": database_url} if database_url else {}),
        )
        await migrate_database(settings)
        async with running_server(settings) as server:
            point = TimingPoint(
                server_host="127.0.0.1", server_port=settings.osc_port, beacon_interval=1.0
            )
            await point.start()
            try:
                await _walks(server, point, cells, walks)
                await _dispatcher_floor(server, point, cells)
                await _udp_echo(cells)
            finally:
                await point.close()


async def _walks(server: Any, point: TimingPoint, cells: int, walks: int) -> None:
    for _ in range(100):
        if await StreamPoint.exists(port=point.lang_port):
            break
        await asyncio.sleep(0.1)
    unique = uuid.uuid4().hex[:8]
    await create_user(username=f"bench-{unique}", password=PASSWORD, is_staff=True)
    async with GraphQLClient(server.graphql_url) as staff:
        await staff.login(f"bench-{unique}", PASSWORD)
        graph = await add_graph(staff, unique)
        codes = [f'"{CELL_MARK}{index}".postln' for index in range(cells)]
        await add_cells(
            staff,
            graph["nodes"][0]["uuid"],
            [{"cellType": "SUPERCOLLIDER", "cellCode": code} for code in codes],
        )
    for walk in range(walks):
        point.arrived.clear()
        point.finished.clear()
        started = time.perf_counter()
        await _listen_to_the_end(server.ws_url, graph["uuid"])
        took = time.perf_counter() - started
        turns = [
            (point.arrived[after] - point.finished[before]) * 1000
            for before, after in itertools.pairwise(codes)
            if before in point.finished and after in point.arrived
        ]
        print(
            f"walk {walk + 1}: {len(turns)} turn-arounds FINISHED -> next cell: median "
            f"{statistics.median(turns):.2f} ms, p90 {percentile(turns, 0.9):.2f}, "
            f"p99 {percentile(turns, 0.99):.2f}, max {max(turns):.2f} "
            f"({cells / took:.0f} cells/s)",
            flush=True,
        )


async def _dispatcher_floor(server: Any, point: TimingPoint, count: int) -> None:
    """``send_and_wait`` in a loop on the server's own dispatcher: no engine, no walk."""
    dispatcher = server.app.ctx.streaming.dispatcher
    row = await StreamPoint.get(port=point.lang_port)
    point.arrived.clear()
    point.finished.clear()
    codes = [f'"{CELL_MARK}floor-{index}".postln' for index in range(count)]
    for code in codes:
        await dispatcher.send_and_wait(row, code, timeout=10.0)
    turns = [
        (point.arrived[after] - point.finished[before]) * 1000
        for before, after in itertools.pairwise(codes)
    ]
    _print_floor("dispatcher alone, same server and point", turns)


async def _udp_echo(count: int) -> None:
    """A datagram to a socket that sends it straight back, both in this loop."""
    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    answers: asyncio.Queue[float] = asyncio.Queue()
    sender, _ = await loop.create_datagram_endpoint(
        lambda: _Heard(answers), local_addr=("127.0.0.1", 0)
    )
    try:
        address = echo.get_extra_info("sockname")
        turns = []
        for _ in range(count):
            sent = time.perf_counter()
            sender.sendto(b"/ping\0\0\0,\0\0\0", address)
            turns.append((await asyncio.wait_for(answers.get(), 5.0) - sent) * 1000)
    finally:
        sender.close()
        echo.close()
    _print_floor("UDP echo round trip, same loop", turns)


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


class _Heard(asyncio.DatagramProtocol):
    def __init__(self, answers: asyncio.Queue[float]) -> None:
        self.answers = answers

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.answers.put_nowait(time.perf_counter())


def _print_floor(what: str, turns: list[float]) -> None:
    print(
        f"floor, {what}: median {statistics.median(turns):.2f} ms, "
        f"p90 {percentile(turns, 0.9):.2f}, p99 {percentile(turns, 0.99):.2f}",
        flush=True,
    )


async def _listen_to_the_end(ws_url: str, graph_uuid: str) -> None:
    async with graphql_socket(ws_url) as ws:
        op = await ws.subscribe(STREAM_INFO, {"g": graph_uuid})
        while True:
            item = (await ws.next_payload(op, timeout=60))["data"]["streamInfo"]
            if item["__typename"] == "GraphDeadEnd":
                return


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--walks", type=int, default=3)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.cells, arguments.walks, arguments.database_url))
