"""Listener churn: listeners attach, listen briefly and leave, over and over.

Run from the repository root: ``.venv/bin/python bench/churn.py [--seconds 60]``.
Uses a fresh PostgreSQL database on 127.0.0.1 when one answers (dropped at the
end), else a temporary SQLite file. Listeners come in groups of 25, one graph per
group, alternating ONE_GRAPH_ONE_STREAM and ONE_USER_ONE_STREAM; a listener whose
graph finds no free point waits a moment and tries again. After every listener
has stopped, the drift is the sum of ``num_listeners`` plus the attachment rows
left (the target is 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from gencaster.broker import MemoryBroker
from gencaster.cli import migrate_database
from gencaster.db import open_database
from gencaster.distributor import GenCasterChannel
from gencaster.settings import Settings
from gencaster.streaming.assignment import NoStreamAvailableError, StreamAssigner
from gencaster.streaming.processes import ProcessRegistry
from models import Graph, ListenerAttachment, Stream, StreamAssignmentPolicy, StreamPoint

ADMIN_URL = os.environ.get(
    "GENCASTER_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
GROUP_SIZE = 25
POLICIES = (StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM, StreamAssignmentPolicy.ONE_USER_ONE_STREAM)


@dataclass
class Figures:
    joins: int = 0
    releases: int = 0
    rejected: int = 0
    attach_seconds: list[float] = field(default_factory=list)


@asynccontextmanager
async def bench_database(directory: Path) -> AsyncIterator[tuple[str, str]]:
    """(kind, url): a fresh PostgreSQL database if the server answers, else SQLite."""
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=2)
    except (OSError, asyncpg.PostgresError):
        yield "sqlite", f"sqlite://{directory / 'churn.sqlite3'}"
        return
    name = f"gencaster_churn_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield "postgres", f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def seed(points: int, listeners: int) -> list[Graph]:
    """Live points, and one graph per group of listeners (its policy alternating)."""
    now = datetime.now(UTC)
    for index in range(points):
        await StreamPoint.create(host="127.0.0.1", port=30000 + index, last_live=now)
    groups = -(-listeners // GROUP_SIZE)
    graphs = []
    for index in range(groups):
        name = f"churn-{index}"
        policy = POLICIES[index % len(POLICIES)]
        graphs.append(
            await Graph.create(
                name=name, display_name=name, slug_name=name, stream_assignment_policy=policy
            )
        )
    return [graphs[index // GROUP_SIZE] for index in range(listeners)]


async def listener(
    assigner: StreamAssigner, graph: Graph, until: float, hold: float, figures: Figures
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            attachment = await assigner.attach(graph)
        except NoStreamAvailableError:
            figures.rejected += 1
            await asyncio.sleep(rng.uniform(0, hold))
            continue
        figures.attach_seconds.append(time.perf_counter() - started)
        figures.joins += 1
        try:
            await asyncio.sleep(rng.uniform(0, hold))
        finally:
            if await assigner.release(attachment):
                figures.releases += 1


async def drift() -> tuple[int, int]:
    counts = await Stream.all().values_list("num_listeners", flat=True)
    return sum(counts), await ListenerAttachment.all().count()


def percentile(values: list[float], fraction: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_database(Path(tmp)) as (kind, url):
            settings = Settings(data_dir=Path(tmp), database_url=url)
            await migrate_database(settings)
            if kind == "postgres":
                url += f"?minsize=1&maxsize={args.pool}"
            async with open_database(url):
                await churn(kind, args)


async def churn(kind: str, args: argparse.Namespace) -> None:
    broker = MemoryBroker()
    await broker.start()
    channel = GenCasterChannel(broker)
    processes = ProcessRegistry(channel=channel, heartbeat_interval=1.0, dead_after=10.0)
    await processes.start()
    assigner = StreamAssigner(processes=processes, channel=channel, beacon_window_s=60.0)
    graphs = await seed(args.points, args.listeners)
    figures = Figures()
    print(
        f"{kind}: {args.listeners} listeners, {args.points} points, {len(set(graphs))} graphs, "
        f"{args.seconds:g} s, hold up to {args.hold_ms:g} ms"
    )
    started = time.monotonic()
    until = started + args.seconds
    hold = args.hold_ms / 1000
    tasks = [
        asyncio.create_task(listener(assigner, graph, until, hold, figures)) for graph in graphs
    ]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    listeners, rows = await drift()
    await processes.close()
    await broker.close()
    latencies = figures.attach_seconds
    print(f"joins/s     {figures.joins / elapsed:10.1f}   ({figures.joins} joins)")
    print(f"releases/s  {figures.releases / elapsed:10.1f}   ({figures.releases} releases)")
    print(f"rejected/s  {figures.rejected / elapsed:10.1f}   (no free point, retried)")
    print(f"attach p50  {percentile(latencies, 0.50) * 1000:10.2f} ms")
    print(f"attach p99  {percentile(latencies, 0.99) * 1000:10.2f} ms")
    print(
        f"drift       {listeners + rows:10d}   (num_listeners {listeners}, attachment rows {rows})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--hold-ms", type=float, default=20.0, help="longest listen per join")
    parser.add_argument("--pool", type=int, default=20, help="PostgreSQL connections")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
