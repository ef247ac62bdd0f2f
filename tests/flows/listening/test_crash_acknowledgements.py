"""A FINISHED the engine acted on survives a crash of the server, and the walk resumes after it.

A real ``gencaster serve`` process (SQLite or PostgreSQL) walks a graph for a listener
over a real WebSocket, with a fake stream point over real UDP that answers at once. The
moment the point receives the cell that comes after the fast ones, it SIGKILLs the
server: the engine has just acted on the previous cell's FINISHED, and some of its
writes are held for later (OSC.md's RECEIVED). Every FINISHED the engine acted on must
be in the database, no state may have moved back, and a server started again on the
same database resumes the walk at the held cell without sending anything twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from typing import Any

import asyncpg
import pytest

from gencaster.streaming.osc import FakeStreamPoint
from gencaster.supercollider import CLEAN_SLATE, PROBE
from tests.support.builders import add_cells, add_graph
from tests.support.databases import postgres_database
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

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = [f'"fast-{index}"' for index in range(20)]
HELD, LAST = '"held"', '"last"'
STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on StreamInfo { stream { uuid } } ... on NoStreamAvailable { error } } }"""
WITHIN = 60.0


class KillingPoint(FakeStreamPoint):
    """Answers at once, but kills ``victim`` the moment ``HELD`` arrives (before answering)."""

    victim: int | None = None

    def _answer(self, uuid: str, code: str, manual_finish: object) -> None:
        if code == HELD and self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
            return
        super()._answer(uuid, code, manual_finish)


@asynccontextmanager
async def database_url(kind: str, data_dir: str) -> AsyncIterator[str]:
    if kind == "postgres":
        async with postgres_database() as url:
            yield url
    else:
        yield f"sqlite://{data_dir}/gencaster.sqlite3"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_finished_acted_on_survives_a_crash_and_the_walk_resumes_after_it(kind: str):
    osc_port = free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory() as data_dir:
        async with database_url(kind, data_dir) as url:
            env = server_env(
                data_dir, database_url=url, osc_port=str(osc_port), osc_host="127.0.0.1"
            )
            await asyncio.to_thread(prepare_database, env)
            point = KillingPoint(server_host="127.0.0.1", server_port=osc_port, beacon_interval=0.5)
            await point.start()
            try:
                async with server_process(env) as server:
                    graph_uuid = await _story(server)
                    point.victim = server.process.pid
                    await _listen_until_killed(server, graph_uuid, point)
                    died = asyncio.to_thread(server.process.wait)
                    assert await asyncio.wait_for(died, WITHIN) == -signal.SIGKILL
                held = await _check_database(url, point)
                async with server_process(env) as server:
                    await _resume(server, graph_uuid, point, held)
            finally:
                await point.close()
    assert _cell_codes(point) == [*FAST, HELD, LAST]  # nothing sent twice


async def _story(server: ServerProcess) -> str:
    async with GraphQLClient(server.url) as staff:
        assert (await staff.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
        unique = uuid.uuid4().hex[:8]
        graph = await add_graph(staff, unique, streamAssignmentPolicy="ONE_GRAPH_ONE_STREAM")
        cells = [{"cellType": "SUPERCOLLIDER", "cellCode": code} for code in [*FAST, HELD, LAST]]
        await add_cells(staff, graph["nodes"][0]["uuid"], cells)
        return str(graph["uuid"])


async def _listen_until_killed(
    server: ServerProcess, graph_uuid: str, point: FakeStreamPoint
) -> None:
    """Listen (once the point's beacon has made it free) until the held cell arrives."""
    async with graphql_socket(server.ws_url) as socket_:
        while True:
            op = await socket_.subscribe(STREAM_INFO, {"g": graph_uuid})
            first = (await socket_.next_payload(op, timeout=WITHIN))["data"]["streamInfo"]
            if first["__typename"] == "StreamInfo":
                break
            await asyncio.sleep(0.2)  # the point has not beaconed yet
        await point.wait_for_code(HELD, WITHIN)  # and the point has killed the server
        socket_.abort()  # its peer is gone: no closing handshake to wait for


async def _check_database(url: str, point: FakeStreamPoint) -> str:
    """Every FINISHED acted on is stored; the held cell's row is as the point left it.

    Read with the database's own driver: this test's ORM context belongs to the
    in-process server other tests of the session use.
    """
    sent = {received.code: received.uuid for received in point.received}
    states = dict(await _rows(url, "SELECT uuid, state FROM stream_instruction"))
    assert {states[sent[code]] for code in FAST} == {"FINISHED"}
    assert states[sent[HELD]] == "SENT"  # killed before it answered at all
    walks = await _rows(url, "SELECT instruction_uuid, cell_index, ended FROM stream_walk")
    assert [(held, index, bool(ended)) for held, index, ended in walks] == [
        (sent[HELD], len(FAST), False)
    ]
    return sent[HELD]


async def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` on either database, their first column (a uuid) as text."""
    if url.startswith("sqlite://"):
        with closing(sqlite3.connect(url.removeprefix("sqlite://"))) as connection:
            rows = list(connection.execute(query))
    else:
        connection = await asyncpg.connect(url)
        try:
            rows = list(await connection.fetch(query))
        finally:
            await connection.close()
    return [(str(row[0]), *row[1:]) for row in rows]


async def _resume(
    server: ServerProcess, graph_uuid: str, point: FakeStreamPoint, held: str
) -> None:
    """A listener on the restarted server: the walk waits for the held cell, then goes on."""
    async with graphql_socket(server.ws_url) as socket_:
        op = await socket_.subscribe(STREAM_INFO, {"g": graph_uuid})
        await socket_.next_payload(op, timeout=WITHIN)  # attached: the resumed walk waits
        # Forward-only and durable: it counts whether or not the engine follows it yet.
        await point.finish(held, "held")
        kinds: list[Any] = []
        while "GraphDeadEnd" not in kinds:
            item = (await socket_.next_payload(op, timeout=WITHIN))["data"]["streamInfo"]
            kinds.append(item["__typename"])


def _cell_codes(point: FakeStreamPoint) -> list[str]:
    return [i.code for i in point.received if i.code not in (CLEAN_SLATE, PROBE)]
