"""The worst sandbox code runs on a real server while other clients keep being answered."""

from __future__ import annotations

import asyncio
import tempfile

import httpx
import pytest

from gencaster.streaming.osc import FakeStreamPoint
from tests.support.attacks import FLOOD_SEEN, build_attack_graph, walk_attack
from tests.support.graphql import GraphQLClient
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Generous on a busy machine; before, one of these cells never gave the loop back at all.
ANSWER_WITHIN = 20.0


async def ask_meanwhile(url: str, stop: asyncio.Event) -> list[int]:
    """Ask the server something small, over and over, until ``stop``; the status codes."""
    statuses = []
    async with httpx.AsyncClient(timeout=ANSWER_WITHIN) as client:
        while not stop.is_set():
            response = await client.get(url, params={"query": "{ __typename }"})
            statuses.append(response.status_code)
            await asyncio.sleep(0.02)
    return statuses


async def test_the_server_keeps_answering_while_the_worst_cells_run():
    osc_port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(data_dir, osc_port=str(osc_port))
        await asyncio.to_thread(prepare_database, env)
        point = FakeStreamPoint(server_host="127.0.0.1", server_port=osc_port)
        await point.start()
        try:
            async with server_process(env) as server:
                async with GraphQLClient(server.url) as staff:
                    await staff.login(STAFF_USER, STAFF_PASSWORD)
                    graph = await build_attack_graph(staff, "attack")
                stop = asyncio.Event()
                asking = asyncio.create_task(ask_meanwhile(server.url, stop))
                try:
                    async with graphql_socket(server.ws_url) as socket:
                        titles = await walk_attack(socket, graph["uuid"])
                finally:
                    stop.set()
                statuses = await asking
        finally:
            await point.close()
    # Every cell before the flood ended (refused) and the walk went on to it.
    assert titles == [f"dialog {i}" for i in range(FLOOD_SEEN)]
    assert statuses and set(statuses) == {200}
