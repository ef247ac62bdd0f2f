"""How long a small ``data`` frame takes right after the server's ``ka``.

    .venv/bin/python -m bench.ws_small_frames --connections 15

Each connection sends ``connection_init``, waits for the ack (the graphql-ws server
sends a ``ka`` right behind it), then times one ``start`` to its ``data``. Prints the
median and the slowest, once as the endpoint serves (TCP_NODELAY on) and once with the
endpoint's ``disable_nagle`` left out: the baseline, where a small frame waits for the
client's delayed ACK of the one before it (some 40 ms on Linux). The test checks the
socket option; the time is here because a busy machine stretches it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.asyncio.client import connect

from gencaster.transport import websocket
from tests.support.ws import JsonSocket
from tests.transport.ws.conftest import ToyServer, start_server


@contextmanager
def _nagle_left_on() -> Iterator[None]:
    """Serve as before the fix: accepted sockets keep Nagle (Sanic binds with proto=0)."""
    kept = websocket.disable_nagle
    websocket.disable_nagle = lambda request: None
    try:
        yield
    finally:
        websocket.disable_nagle = kept


async def _one(server: ToyServer, n: int) -> float:
    connection = await connect(server.url, subprotocols=["graphql-ws"], proxy=None)
    client = JsonSocket(connection)
    try:
        await client.send({"type": "connection_init"})
        await client.receive_until("connection_ack")
        started = time.perf_counter()
        await client.send({"id": str(n), "type": "start", "payload": {"query": "{ hello }"}})
        await client.receive_until("data")
        return time.perf_counter() - started
    finally:
        await client.close()


async def measure(connections: int) -> list[float]:
    server = await start_server()
    try:
        return [await _one(server, n) for n in range(connections)]
    finally:
        await server.stop()


async def main(connections: int) -> None:
    served = await measure(connections)
    with _nagle_left_on():
        baseline = await measure(connections)
    for label, times in (("TCP_NODELAY (as served)", served), ("baseline: Nagle on", baseline)):
        median_ms, slowest_ms = statistics.median(times) * 1000, max(times) * 1000
        print(f"{label:24s} {connections} connections: median {median_ms:6.1f} ms,", end=" ")
        print(f"slowest {slowest_ms:6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=15)
    asyncio.run(main(parser.parse_args().connections))
