"""A database blip loses no listener, and requests during it get a JSON error.

The server reaches PostgreSQL through a TCP proxy the test cuts and restores (the
shared PostgreSQL keeps running for everyone else). Listeners who leave while the
database is away are released once it is back: counts and attachment rows return to
what the sockets show, and the stream point is free again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from gencaster.auth import SESSION_COOKIE
from gencaster.cli import migrate_database
from gencaster.streaming.logs import StreamLogWriter
from models import (
    InstructionState,
    ListenerAttachment,
    Node,
    Stream,
    StreamInstruction,
    StreamLog,
    StreamPoint,
)
from tests.conftest import make_settings
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_graph
from tests.support.databases import database
from tests.support.osc import acknowledge_datagram, fake_points
from tests.support.polling import eventually
from tests.support.proxy import TcpProxy
from tests.support.server import RunningServer, free_port, running_server
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

WITHIN = 60.0  # bound on recovery that should take a few seconds


@dataclass
class ProxiedServer:
    server: RunningServer
    proxy: TcpProxy


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(tmp_path) -> AsyncIterator[ProxiedServer]:  # type: ignore[no-untyped-def]
    # database(): an in-process migration must not reuse queries compiled for SQLite.
    async with database("postgres", tmp_path) as url:
        proxy = TcpProxy.in_front_of(url)
        await proxy.start()
        via_proxy = proxy.url(url)
        try:
            settings = make_settings(tmp_path, via_proxy)
            await migrate_database(settings)
            async with running_server(settings) as server:
                yield ProxiedServer(server, proxy)
        finally:
            await proxy.close()


async def test_listeners_who_leave_during_an_outage_are_released_after_it(
    proxied: ProxiedServer, caplog: pytest.LogCaptureFixture
):
    server, proxy = proxied.server, proxied.proxy
    unique = uuid.uuid4().hex[:8]
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique, streamAssignmentPolicy="ONE_GRAPH_ONE_STREAM")
    await Node.filter(graph_id=graph["uuid"]).update(is_blocking_node=True)
    async with fake_points(server.settings.osc_port, beacon_interval=1.0) as make_fake:
        fake = await make_fake()
        point = await wait_for_point(fake.lang_port)
        listeners = AsyncExitStack()
        sockets = []
        for _ in range(3):
            socket = await listeners.enter_async_context(
                graphql_socket(server.ws_url, "graphql-ws")
            )
            operation = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            first = await socket.next_payload(operation, timeout=30)
            assert first["data"]["streamInfo"]["__typename"] == "StreamInfo", first
            sockets.append(socket)
        stream = await Stream.get(stream_point_id=point.uuid, num_listeners__gt=0)
        assert stream.num_listeners == 3

        caplog.set_level(logging.WARNING)
        await proxy.cut()
        await listeners.aclose()  # the three listeners leave

        def failed_releases() -> int:
            return sum("Could not release listener" in r.getMessage() for r in caplog.records)

        async def all_failed_once() -> bool:
            return failed_releases() >= 3

        await eventually(all_failed_once, within=WITHIN)

        # Requests during the outage: JSON errors with SERVICE_UNAVAILABLE, never HTML 500s.
        cookies = {SESSION_COOKIE: "some-session-id"}
        async with httpx.AsyncClient(timeout=30, cookies=cookies) as http:
            with_session = await http.post(
                server.graphql_url, json={"query": "{ isAuthenticated { username } }"}
            )
            assert with_session.status_code == 503
            assert with_session.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        async with httpx.AsyncClient(timeout=30) as http:
            public = await http.post(server.graphql_url, json={"query": "{ graphs { uuid } }"})
            assert public.status_code == 200
            assert public.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        async with graphql_socket(server.ws_url) as newcomer:
            operation = await newcomer.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            message = await newcomer.receive_for(operation, timeout=30)
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"]

        await proxy.restore()

        async def released() -> bool:
            fresh = await Stream.get(uuid=stream.uuid)
            rows = await ListenerAttachment.filter(stream_id=stream.uuid).count()
            return fresh.num_listeners == 0 and rows == 0

        await eventually(released, within=WITHIN)
        # The point is free again: a new listener gets a stream on it.
        async with graphql_socket(server.ws_url, "graphql-ws") as socket:
            operation = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            again = await socket.next_payload(operation, timeout=30)
            assert again["data"]["streamInfo"]["__typename"] == "StreamInfo", again
        assert await StreamPoint.exists(uuid=point.uuid)
    await staff.http.aclose()


async def test_media_is_served_while_the_database_is_away(proxied: ProxiedServer):
    # /media reads only the media folder: an outage of the database is none of its business.
    server, proxy = proxied.server, proxied.proxy
    relative = f"audio/{uuid.uuid4().hex}.wav"
    content = b"RIFF" + bytes(range(256)) * 4
    (server.settings.media_root / "audio").mkdir(parents=True, exist_ok=True)
    (server.settings.media_root / relative).write_bytes(content)
    await proxy.cut()
    try:
        cookies = {SESSION_COOKIE: "a-session"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30, cookies=cookies) as http:
            during = await http.get(f"/media/{relative}")
    finally:
        await proxy.restore()
    assert during.status_code == 200 and during.content == content


def logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: any(text in record.getMessage() for record in caplog.records)


async def test_an_acknowledgement_during_an_outage_is_recorded_after_it(
    proxied: ProxiedServer, caplog: pytest.LogCaptureFixture
):
    server, proxy = proxied.server, proxied.proxy
    point = await StreamPoint.create(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM))
    instruction = await StreamInstruction.create(
        stream_point=point, instruction_text="1 + 1", state=InstructionState.SENT
    )
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    caplog.set_level(logging.INFO)
    await proxy.cut()
    try:
        datagram = acknowledge_datagram(str(instruction.uuid), b"2")
        transport.sendto(datagram, ("127.0.0.1", server.settings.osc_port))
        await eventually(
            logged(caplog, f"Could not record FINISHED of instruction {instruction.uuid}"),
            within=WITHIN,
        )
    finally:
        transport.close()
        await proxy.restore()

    async def recorded() -> bool:
        row = await StreamInstruction.get(uuid=instruction.uuid)
        return row.state == InstructionState.FINISHED and row.return_value == "2"

    await eventually(recorded, within=WITHIN)
    assert not logged(caplog, "OSC handler failed")()


async def test_a_log_record_nobody_waits_for_is_stored_after_an_outage(
    proxied: ProxiedServer, caplog: pytest.LogCaptureFixture
):
    server, proxy = proxied.server, proxied.proxy
    point = await StreamPoint.create(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM))
    message = f"print during the outage {uuid.uuid4().hex}"
    caplog.set_level(logging.INFO)
    await proxy.cut()
    try:
        writer = StreamLogWriter(server.services.channel)
        record = asyncio.ensure_future(writer.log(message, stream_point=point, retry=True))
        await eventually(logged(caplog, "Could not store log record"), within=WITHIN)
        assert not record.done()
    finally:
        await proxy.restore()
    async with asyncio.timeout(WITHIN):
        await record
    assert await StreamLog.filter(message=message, stream_point_id=point.uuid).count() == 1


async def test_a_beacon_during_an_outage_is_dropped_with_one_clear_line(
    proxied: ProxiedServer, caplog: pytest.LogCaptureFixture
):
    server, proxy = proxied.server, proxied.proxy
    caplog.set_level(logging.WARNING)
    async with fake_points(server.settings.osc_port, beacon_interval=0.2) as make_fake:
        await proxy.cut()
        try:
            await make_fake()
            await eventually(
                logged(caplog, "Dropped Beacon from 127.0.0.1"),
                within=WITHIN,
            )
        finally:
            await proxy.restore()
    assert not logged(caplog, "OSC handler failed")()
    ours = [record for record in caplog.records if record.name.startswith("gencaster")]
    assert not [record for record in ours if record.exc_info]
