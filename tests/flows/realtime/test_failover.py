"""One engine per stream across processes, and a walk that survives its engine's process.

Three ``gencaster serve`` processes share PostgreSQL and a private Redis; the OSC server
runs as ``gencaster osc`` in a fourth, and a fake stream point beacons to it. Listeners
of one ``ONE_GRAPH_ONE_STREAM`` graph are spread over the three servers. Mid-walk the
process running the stream's engine is SIGKILLed: another process takes the walk over
where it was, the listeners on live processes hear the rest of it, those of the killed
process reconnect elsewhere and join the same walk, the point never gets an instruction
twice, and once everyone has left the stream counts no listener.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from gencaster.streaming.osc import FakeStreamPoint
from gencaster.supercollider import CLEAN_SLATE, PROBE
from tests.support.builders import add_cells, add_graph, add_node, connect, default_door
from tests.support.databases import postgres_database
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.processes import (
    ROOT,
    STAFF_PASSWORD,
    STAFF_USER,
    RedisServer,
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename
  ... on StreamInfo { stream { uuid } streamInstruction { uuid instructionText } }
  ... on Dialog { title buttons { text } }
  ... on GraphDeadEnd { error } } }"""

NODES, CELLS_PER_NODE = 4, 5
CODES = [f"{node * 10 + cell}" for node in range(NODES) for cell in range(CELLS_PER_NODE)]
# The last node shows a dialog first: listeners of every process must see it.
DIALOG_CELL = 'yield Dialog(title="Almost there", buttons=[Button.ok()])'
LISTENERS_PER_PROCESS = 2
WITHIN = 180.0  # generous bounds: a busy machine makes this slower, never red


@dataclass
class Listener:
    """One listener's socket and what it heard."""

    server: ServerProcess
    socket: GraphQLSocket
    operation: str
    heard: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    @property
    def codes(self) -> list[str]:
        return [
            info["streamInstruction"]["instructionText"]
            for info in self.heard
            if info["__typename"] == "StreamInfo" and info["streamInstruction"]
        ]

    @property
    def dialogs(self) -> list[str]:
        return [info["title"] for info in self.heard if info["__typename"] == "Dialog"]

    @property
    def ended(self) -> bool:
        return any(info["__typename"] == "GraphDeadEnd" for info in self.heard)

    async def follow(self) -> None:
        while not self.ended:
            message = await self.socket.receive_for(self.operation, timeout=WITHIN)
            assert message["type"] in ("next", "data"), message
            self.heard.append(message["payload"]["data"]["streamInfo"])


async def listen(stack: AsyncExitStack, server: ServerProcess, graph_uuid: str) -> Listener:
    ws = await stack.enter_async_context(graphql_socket(server.ws_url, "graphql-ws"))
    operation = await ws.subscribe(STREAM_INFO, {"g": graph_uuid})
    listener = Listener(server, ws, operation)
    first = await ws.next_payload(operation, timeout=WITHIN)
    listener.heard.append(first["data"]["streamInfo"])
    assert listener.heard[0]["__typename"] == "StreamInfo", listener.heard
    listener.task = asyncio.create_task(listener.follow())
    # Ended with its socket, whatever the test did with it: a follower left running
    # times out long after its test and nobody would read its error.
    stack.push_async_callback(_stop_following, listener.task)
    return listener


async def _stop_following(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def osc_process(env: dict[str, str], port: int) -> AsyncIterator[None]:
    """``gencaster osc`` on ``port``: the one OSC server of the deployment."""
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the test's work
        [sys.executable, "-m", "gencaster.cli", "osc"],
        env={**env, "GENCASTER_OSC_PORT": str(port), "GENCASTER_OSC_HOST": "127.0.0.1"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


async def build_story(server: ServerProcess, unique: str) -> str:
    """A chain of nodes, each with a few SuperCollider cells whose code names them."""
    async with GraphQLClient(server.url) as staff:
        assert (await staff.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
        graph = await add_graph(staff, unique, streamAssignmentPolicy="ONE_GRAPH_ONE_STREAM")
        previous = graph["nodes"][0]
        for index in range(NODES):
            node = previous if index == 0 else await add_node(staff, graph["uuid"], f"n{index}")
            if index:
                await connect(staff, default_door(previous, "out"), default_door(node, "in"))
            codes = CODES[index * CELLS_PER_NODE : (index + 1) * CELLS_PER_NODE]
            cells = [{"cellType": "SUPERCOLLIDER", "cellCode": code} for code in codes]
            if index == NODES - 1:
                cells.insert(0, {"cellType": "PYTHON", "cellCode": DIALOG_CELL})
            await add_cells(staff, node["uuid"], cells)
            previous = node
        return graph["uuid"]


def cell_codes(point: FakeStreamPoint) -> list[str]:
    return [i.code for i in point.received if i.code not in (CLEAN_SLATE, PROBE)]


@dataclass
class Deployment:
    """Server processes on one PostgreSQL and Redis, one OSC process, one fake point."""

    servers: list[ServerProcess]
    point: FakeStreamPoint
    database: asyncpg.Connection
    prefix: str
    redis: RedisServer

    async def holder_pid(self, stream_uuid: str) -> int | None:
        """The pid of the process holding the stream's engine (the lease names it)."""
        client = self.redis.client()
        try:
            value = await client.get(f"{self.prefix}:engine:{stream_uuid}")
        finally:
            await client.aclose()
        return None if value is None else int(value.decode().split("/")[1])

    async def listeners_counted(self, stream_uuid: str) -> int:
        query = "SELECT num_listeners FROM stream WHERE uuid = $1"
        return await self.database.fetchval(query, uuid.UUID(stream_uuid))


@asynccontextmanager
async def deployment(
    redis: RedisServer, processes: int, **settings: str
) -> AsyncIterator[Deployment]:
    prefix = f"failover-{uuid.uuid4().hex[:6]}"
    osc_port = free_port(socket.SOCK_DGRAM)
    async with postgres_database() as database_url, AsyncExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory())
        env = server_env(
            data_dir,
            database_url=database_url,
            redis_url=f"{redis.url}/0",
            redis_prefix=prefix,
            **settings,
        )
        await asyncio.to_thread(prepare_database, env)
        database = await asyncpg.connect(database_url)
        stack.push_async_callback(database.close)
        await stack.enter_async_context(osc_process(env, osc_port))
        point = FakeStreamPoint(
            server_host="127.0.0.1", server_port=osc_port, beacon_interval=1.0, finish_delay=0.3
        )
        await point.start()
        stack.push_async_callback(point.close)

        async def registered() -> bool:
            query = "SELECT count(*) FROM stream_point WHERE port = $1"
            return bool(await database.fetchval(query, point.lang_port))

        await eventually(registered, within=WITHIN, message="the point never registered")
        servers = [await stack.enter_async_context(server_process(env)) for _ in range(processes)]
        yield Deployment(servers, point, database, prefix, redis)


async def test_a_walk_goes_on_when_its_engines_process_dies(redis_server: RedisServer):
    async with deployment(
        redis_server, 3, engine_lease_s="3", instruction_timeout_s="60"
    ) as deployed:
        servers, point = deployed.servers, deployed.point
        graph_uuid = await build_story(servers[0], uuid.uuid4().hex[:8])

        sockets = AsyncExitStack()
        listeners = [
            await listen(sockets, server, graph_uuid)
            for _ in range(LISTENERS_PER_PROCESS)
            for server in servers
        ]
        stream_uuid = listeners[0].heard[0]["stream"]["uuid"]
        assert {listener.heard[0]["stream"]["uuid"] for listener in listeners} == {stream_uuid}

        # The engine runs in exactly one process: the one the lease names.
        engine_pid = await deployed.holder_pid(stream_uuid)
        doomed = next(s for s in servers if s.process.pid == engine_pid)
        survivors = [s for s in servers if s is not doomed]
        await eventually(lambda: len(cell_codes(point)) >= 6, within=WITHIN)
        doomed.process.kill()  # SIGKILL mid-walk: no goodbye, its lease simply expires
        await asyncio.to_thread(doomed.process.wait)
        sent_before_kill = len(cell_codes(point))
        assert sent_before_kill < len(CODES), "the walk ended before the kill; lengthen it"

        cut_off = [listener for listener in listeners if listener.server is doomed]
        for listener in cut_off:
            assert listener.task is not None
            listener.task.cancel()
        # Listeners of the dead process come back through a live one, as the app would.
        returned = [
            await listen(sockets, survivors[index % 2], graph_uuid)
            for index, _ in enumerate(cut_off)
        ]
        assert {listener.heard[0]["stream"]["uuid"] for listener in returned} == {stream_uuid}
        live = [listener for listener in listeners if listener.server is not doomed] + returned
        await asyncio.wait_for(
            asyncio.gather(*(listener.task for listener in live if listener.task)), WITHIN
        )

        codes = cell_codes(point)
        # Never sent twice: no uuid, no cell, no clean slate; and the walk did not restart.
        uuids = [instruction.uuid for instruction in point.received]
        assert len(uuids) == len(set(uuids))
        assert max(Counter(codes).values()) == 1, codes
        assert [i.code for i in point.received].count(CLEAN_SLATE) == 1
        # In order to the end; at most the one instruction in flight at the kill may be
        # lost (recorded but never sent), and then the new engine waited it out.
        assert codes == sorted(codes, key=CODES.index) and codes[-1] == CODES[-1], codes
        assert len(CODES) - len(codes) <= 1, codes
        after_kill = codes[sent_before_kill:]
        for listener in live:
            assert listener.ended, listener.heard
            assert set(after_kill) <= set(listener.codes), (listener.codes, after_kill)
            assert listener.dialogs == ["Almost there"], listener.heard
        for listener in returned:  # they joined the walk where it was, not its beginning
            assert CODES[0] not in listener.codes, listener.codes

        await sockets.aclose()

        async def nobody_listens() -> bool:
            return await deployed.listeners_counted(stream_uuid) == 0

        # The dead process's listeners are released when a live process reaps it.
        await eventually(nobody_listens, within=WITHIN, message="listeners are still counted")


async def test_when_the_engines_last_listener_leaves_another_process_goes_on_at_once(
    redis_server: RedisServer,
):
    # A lease far longer than the test: going on must not wait for it to lapse.
    async with deployment(redis_server, 2, engine_lease_s="600") as deployed:
        (first, second), point = deployed.servers, deployed.point
        graph_uuid = await build_story(first, uuid.uuid4().hex[:8])
        async with AsyncExitStack() as sockets:
            leaving_sockets = AsyncExitStack()
            leaving = await listen(leaving_sockets, first, graph_uuid)
            staying = await listen(sockets, second, graph_uuid)
            stream_uuid = leaving.heard[0]["stream"]["uuid"]
            assert await deployed.holder_pid(stream_uuid) == first.process.pid

            await eventually(lambda: len(cell_codes(point)) >= 4, within=WITHIN)
            assert leaving.task is not None and staying.task is not None
            leaving.task.cancel()
            await leaving_sockets.aclose()  # the engine's only listener leaves
            await asyncio.wait_for(staying.task, WITHIN)

            assert cell_codes(point) == CODES  # every cell once, in order, to the end
            uuids = [instruction.uuid for instruction in point.received]
            assert len(uuids) == len(set(uuids))
            assert staying.codes[-1] == CODES[-1]
            assert await deployed.holder_pid(stream_uuid) in (second.process.pid, None)
