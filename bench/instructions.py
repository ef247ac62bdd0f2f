"""Instruction turn-around: from a stream point's FINISHED to the engine's next instruction.

Run from the repository root: ``.venv/bin/python bench/instructions.py [--count N]``.
Everything runs in this process on loopback, as in the embedded set-up: an OSC server
with the real ``StreamPointHandler``, a SQLite file in a temporary folder (or
``--database-url``), a ``MemoryBroker`` and one ``FakeStreamPoint`` that answers at once.
Instructions are sent one after the other with ``send_and_wait``, as the engine does
with SuperCollider cells. The turn-around of one instruction is the time from the
fake's ``FINISHED`` datagram leaving its socket to the next instruction's datagram
leaving the server's: handling the acknowledgement, waking the waiter, reading the
row, and creating and sending the next instruction.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from gencaster.broker import MemoryBroker
from gencaster.cli import migrate_database
from gencaster.db import open_database
from gencaster.distributor import GenCasterChannel
from gencaster.settings import Settings
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import FakeStreamPoint, OscClient, OscServer
from gencaster.streaming.points import StreamPointHandler
from models import StreamPoint

LOOPBACK = "127.0.0.1"


class TimedClient(OscClient):
    """Notes when each instruction datagram has left the server's socket."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    def send_instruction(
        self, host: str, port: int, uuid: str, code: str, manual_finish: bool
    ) -> None:
        super().send_instruction(host, port, uuid, code, manual_finish)
        self.sent_at.append(time.perf_counter())


class TimedFakePoint(FakeStreamPoint):
    """Notes when each FINISHED datagram has left the fake's socket."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.finished_at: list[float] = []

    def _send_finished(self, uuid: str, return_value: str) -> None:
        super()._send_finished(uuid, return_value)
        self.finished_at.append(time.perf_counter())


async def run(count: int, database_url: str, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    await migrate_database(settings)
    async with open_database(database_url):
        await _run(count)


async def _run(count: int) -> None:
    broker = MemoryBroker(prefix="bench")
    await broker.start()
    channel = GenCasterChannel(broker)
    client = TimedClient()
    await client.start()
    dispatcher = InstructionDispatcher(osc=client, channel=channel)
    handler = StreamPointHandler(
        dispatcher=dispatcher,
        channel=channel,
        logs=StreamLogWriter(channel),
        osc_password="",
        beacon_window_s=60.0,
    )
    server = OscServer(handler, host=LOOPBACK, port=0, max_datagrams_per_s=10**9)
    await server.start()
    fake = TimedFakePoint(server_host=LOOPBACK, server_port=server.port, beacon_interval=3600.0)
    await fake.start()
    try:
        point = await _registered(fake)
        started = time.perf_counter()
        for index in range(count):
            await dispatcher.send_and_wait(point, str(index), timeout=5.0)
        total = time.perf_counter() - started
        report(client.sent_at, fake.finished_at, count, total)
    finally:
        await fake.close()
        await server.close()
        await client.close()
        await broker.close()


async def _registered(fake: FakeStreamPoint) -> StreamPoint:
    async with asyncio.timeout(5.0):
        while True:
            point = await StreamPoint.get_or_none(host=LOOPBACK, port=fake.lang_port)
            if point is not None:
                return point
            await asyncio.sleep(0.01)


def report(sent_at: list[float], finished_at: list[float], count: int, total: float) -> None:
    # Turn-around i: FINISHED of instruction i leaves -> instruction i + 1 leaves.
    turns = [(sent_at[i + 1] - finished_at[i]) * 1000 for i in range(count - 1)]
    turns.sort()
    p99 = turns[min(len(turns) - 1, int(len(turns) * 0.99))]
    print(f"instructions: {count} sequential send_and_wait")
    print(f"turn-around FINISHED -> next instruction: median {statistics.median(turns):.3f} ms")
    print(f"turn-around p99: {p99:.3f} ms (max {turns[-1]:.3f} ms)")
    print(f"throughput: {count / total:.0f} instructions/s ({total:.2f} s in all)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="instructions to send")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temp dir")
    args = parser.parse_args()
    if args.count < 2:
        parser.error("--count must be at least 2")
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as tmp:
        url = args.database_url or f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        asyncio.run(run(args.count, url, Path(tmp)))


if __name__ == "__main__":
    main()
