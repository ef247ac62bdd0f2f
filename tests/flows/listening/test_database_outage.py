"""A database blip loses no listener, and requests during it get a JSON error.

The server reaches PostgreSQL through a TCP proxy the test cuts and restores (the
shared PostgreSQL keeps running for everyone else). Listeners who leave while the
database is away are released once it is back: counts and attachment rows return to
what the sockets show, and the stream point is free again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from gencaster.auth import SESSION_COOKIE
from gencaster.cli import migrate_database
from models import ListenerAttachment, Node, Stream, StreamPoint
from tests.conftest import make_settings
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_graph
from tests.support.databases import postgres_database
from tests.support.osc import fake_points
from tests.support.polling import eventually
from tests.support.proxy import TcpProxy
from tests.support.server import RunningServer, running_server
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

WITHIN = 60.0  # bound on recovery that should take a few seconds


@dataclass
class ProxiedServer:
    server: RunningServer
    proxy: TcpProxy


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(tmp_path) -> AsyncIterator[ProxiedServer]:  # type: ignore[no-untyped-def]
    async with postgres_database() as url:
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
