"""Two server processes on one database: a read through one never shows a graph older than
a change the other has acknowledged, though each keeps its own answers."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.builders import GRAPH
from tests.support.databases import database
from tests.support.processes import (
    RedisServer,
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
    staff_session,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHANGES = 20
READERS = 3


async def call(http: httpx.AsyncClient, server: ServerProcess, query: str, **variables: object):
    response = await http.post(server.url, json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def position_of(http: httpx.AsyncClient, server: ServerProcess, graph: str) -> float:
    data = await call(http, server, GRAPH, pk=graph)
    return max(node["positionX"] for node in data["graph"]["nodes"])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_reads_through_one_process_follow_changes_acknowledged_by_another(
    kind: str, tmp_path: Path
) -> None:
    async with RedisServer() as redis, database(kind, tmp_path) as url:
        env = server_env(
            str(tmp_path),
            database_url=url,
            redis_url=f"{redis.url}/0",
            redis_prefix=f"reads-{uuid.uuid4().hex[:6]}",
        )
        await asyncio.to_thread(prepare_database, env)
        async with server_process(env) as writer, server_process(env) as reader:
            http = await staff_session(writer)
            try:
                await _write_and_read(http, writer, reader)
            finally:
                await http.aclose()


async def _write_and_read(http: httpx.AsyncClient, writer: ServerProcess, reader: ServerProcess):
    stamp = uuid.uuid4().hex[:8]
    graph = (
        await call(
            http,
            writer,
            "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid nodes { uuid } } }",
            i={
                "name": f"shared-{stamp}",
                "displayName": "Shared",
                "slugName": f"shared-{stamp}",
                "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                "templateName": "DEFAULT",
            },
        )
    )["addGraph"]
    entry = graph["nodes"][0]["uuid"]
    acknowledged: list[tuple[float, float]] = []
    seen: list[tuple[float, float]] = []
    writing = True

    async def write() -> None:
        nonlocal writing
        for step in range(1, CHANGES + 1):
            await call(
                http,
                writer,
                "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }",
                u={"uuid": entry, "positionX": float(step)},
            )
            acknowledged.append((time.monotonic(), float(step)))
            await asyncio.sleep(0.02)  # readers get a turn at every version
        writing = False

    async def read(server: ServerProcess) -> None:
        while writing:
            started = time.monotonic()
            seen.append((started, await position_of(http, server, graph["uuid"])))

    await asyncio.gather(write(), *(read(reader) for _ in range(READERS)), read(writer))
    for started, position in seen:
        before = [value for at, value in acknowledged if at <= started]
        assert position >= max(before, default=0.0), (started, position)
    assert len(seen) > CHANGES
    assert await position_of(http, reader, graph["uuid"]) == float(CHANGES)
    assert await kept_answers(http, reader) > 0, "the reading process served kept answers"


async def kept_answers(http: httpx.AsyncClient, server: ServerProcess) -> float:
    """The process's count of graph reads answered from kept bytes (its /metrics)."""
    text = (await http.get(f"http://127.0.0.1:{server.port}/metrics")).text
    hits = re.search(r'^gencaster_graph_read_cache_total\{result="hit"\} (\S+)$', text, re.M)
    return float(hits.group(1)) if hits else 0.0
