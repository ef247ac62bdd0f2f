"""Kept answers of graph reads over real HTTP: never older than an acknowledged change."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gencaster.auth import create_user
from gencaster.transport.read_cache import ReadCache
from tests.conftest import STAFF_PASSWORD
from tests.support.builders import GRAPH, add_cells, add_graph, add_node
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHANGES = 24
READERS = 4


def cache_of(server: RunningServer) -> ReadCache:
    cache = server.app.ctx.read_cache
    assert cache is not None
    return cache


def shown(graph: dict[str, Any], node_uuid: str) -> tuple[float, int]:
    """What the changes below move: the node's x position and its number of cells."""
    node = next(node for node in graph["nodes"] if node["uuid"] == node_uuid)
    return node["positionX"], len(node["scriptCells"])


async def test_no_read_after_an_acknowledged_change_shows_older_data(
    staff: GraphQLClient, server: RunningServer, unique: str
) -> None:
    graph = (await add_graph(staff, unique))["uuid"]
    node = (await add_node(staff, graph, "moving"))["uuid"]
    hits_before = cache_of(server).hits
    acknowledged: list[tuple[float, tuple[float, int]]] = []
    seen: list[tuple[float, tuple[float, int]]] = []
    writing = True

    async def write() -> None:
        nonlocal writing
        cells = 0
        for step in range(1, CHANGES + 1):
            if step % 2:
                await staff.data(
                    "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }",
                    {"u": {"uuid": node, "positionX": float(step)}},
                )
            else:
                await add_cells(staff, node, [{"cellType": "COMMENT", "cellCode": f"{step}"}])
                cells += 1
            acknowledged.append((time.monotonic(), (float(step - (step % 2 == 0)), cells)))
            await asyncio.sleep(0.01)  # readers get a turn at every version
        writing = False

    async def read() -> None:
        while writing:
            started = time.monotonic()
            data = await staff.data(GRAPH, {"pk": graph})
            seen.append((started, shown(data["graph"], node)))

    await asyncio.gather(write(), *(read() for _ in range(READERS)))
    for started, (position, cells) in seen:
        before = [state for at, state in acknowledged if at <= started]
        if before:
            assert position >= max(p for p, _ in before), (started, position, before[-1])
            assert cells >= max(c for _, c in before), (started, cells, before[-1])
    assert cache_of(server).hits > hits_before, "reads between changes were served kept answers"
    final = await staff.data(GRAPH, {"pk": graph})
    assert shown(final["graph"], node) == (float(CHANGES - 1), CHANGES // 2)


async def test_callers_of_another_class_never_get_a_staff_answer(
    staff: GraphQLClient, anonymous: GraphQLClient, server: RunningServer, unique: str
) -> None:
    graph = (await add_graph(staff, unique))["uuid"]
    await staff.data(GRAPH, {"pk": graph})
    await staff.data(GRAPH, {"pk": graph})  # now kept
    assert await anonymous.error_codes(GRAPH, {"pk": graph}) == ["UNAUTHENTICATED"]
    username = f"listener-{unique}"
    await create_user(username=username, password=STAFF_PASSWORD, is_staff=False)
    async with GraphQLClient(server.graphql_url) as user:
        await user.login(username, STAFF_PASSWORD)
        assert await user.error_codes(GRAPH, {"pk": graph}) == ["FORBIDDEN"]


async def test_errors_are_not_kept(staff: GraphQLClient, server: RunningServer) -> None:
    cache = cache_of(server)
    missing = "00000000-0000-4000-8000-000000000000"
    entries = len(cache)
    for _ in range(2):
        assert await staff.error_codes(GRAPH, {"pk": missing}) == ["NOT_FOUND"]
    assert len(cache) == entries


async def test_a_kept_answer_is_the_same_bytes(
    staff: GraphQLClient, server: RunningServer, unique: str
) -> None:
    graph = (await add_graph(staff, unique))["uuid"]
    await add_cells(
        staff,
        (await add_node(staff, graph, "n"))["uuid"],
        [{"cellType": "COMMENT", "cellCode": "ü"}],
    )
    body = {"query": GRAPH, "variables": {"pk": graph}}
    first = await staff.http.post(server.graphql_url, json=body)
    hits = cache_of(server).hits
    second = await staff.http.post(server.graphql_url, json=body)
    assert cache_of(server).hits == hits + 1
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
