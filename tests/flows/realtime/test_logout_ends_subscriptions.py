"""Losing a login ends the staff subscriptions it allowed: UNAUTHENTICATED, then complete."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from gencaster.auth import SESSION_COOKIE, create_user
from gencaster.cli import migrate_database
from models import Session, User
from tests.conftest import STAFF_PASSWORD, make_settings
from tests.flows.realtime.test_processes import GRAPH_SUB
from tests.flows.realtime.test_processes import add_graph as add_graph_over
from tests.support.builders import add_graph, add_node
from tests.support.databases import database, postgres_database
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.processes import (
    RedisServer,
    prepare_database,
    server_env,
    server_process,
    staff_session,
)
from tests.support.server import RunningServer, running_server
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
AUDIT_S = 0.2


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def audited_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    """A server that re-checks open staff sessions every 0.2 s."""
    tmp = tmp_path_factory.mktemp(f"audited-{request.param}")
    async with database(request.param, tmp) as url:
        settings = make_settings(tmp, url, session_audit_s=AUDIT_S)
        await migrate_database(settings)
        async with running_server(settings) as running:
            yield running


async def _editor(server: RunningServer, name: str) -> GraphQLClient:
    await create_user(username=name, password=STAFF_PASSWORD, is_staff=True)
    client = GraphQLClient(server.graphql_url)
    assert (await client.login(name, STAFF_PASSWORD))["__typename"] == "User"
    return client


async def assert_ended_unauthenticated(socket: GraphQLSocket, operation: str) -> None:
    """The next messages are a result with UNAUTHENTICATED and then complete."""
    while True:
        message = await socket.receive_for(operation)
        if message["type"] in ("next", "data") and not message["payload"].get("errors"):
            continue  # an update that was on its way before the login ended
        break
    assert message["type"] in ("next", "data"), message
    [error] = message["payload"]["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await socket.receive_for(operation))["type"] == "complete"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_logout_over_http_ends_the_open_graph_subscription(
    audited_server: RunningServer, protocol: str
):
    server = audited_server
    unique = uuid.uuid4().hex[:8]
    editor = await _editor(server, f"leaving-{unique}")
    other = await _editor(server, f"staying-{unique}")
    graph = await add_graph(other, unique)
    cookies = {SESSION_COOKIE: editor.http.cookies[SESSION_COOKIE]}
    async with graphql_socket(server.ws_url, protocol, cookies=cookies) as socket:
        operation = await socket.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        await socket.next_payload(operation)
        await add_node(other, graph["uuid"], "seen")
        assert "errors" not in await socket.next_payload(operation)
        assert (await editor.data("mutation { authLogout }"))["authLogout"] is True
        await assert_ended_unauthenticated(socket, operation)
        # The other editor's own subscription goes on.
        other_cookies = {SESSION_COOKIE: other.http.cookies[SESSION_COOKIE]}
        async with graphql_socket(server.ws_url, protocol, cookies=other_cookies) as still:
            kept = await still.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
            await still.next_payload(kept)
            await add_node(other, graph["uuid"], "after")
            names = {n["name"] for n in (await still.next_payload(kept))["data"]["graph"]["nodes"]}
            assert "after" in names
    await editor.http.aclose()
    await other.http.aclose()


@pytest.mark.parametrize("change", ["deactivated", "no-longer-staff", "session-deleted"])
async def test_losing_rights_ends_staff_subscriptions(audited_server: RunningServer, change: str):
    server = audited_server
    unique = uuid.uuid4().hex[:8]
    editor = await _editor(server, f"changed-{unique}")
    graph = await add_graph(editor, unique)
    cookies = {SESSION_COOKIE: editor.http.cookies[SESSION_COOKIE]}
    async with graphql_socket(server.ws_url, cookies=cookies) as socket:
        operation = await socket.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        await socket.next_payload(operation)
        user = User.filter(username=f"changed-{unique}")
        if change == "deactivated":
            await user.update(is_active=False)
        elif change == "no-longer-staff":
            await user.update(is_staff=False)
        else:
            await Session.filter(user__username=f"changed-{unique}").delete()
        # No message at all: the periodic re-check finds it.
        await assert_ended_unauthenticated(socket, operation)
    await editor.http.aclose()


async def test_an_expiring_session_ends_its_subscriptions(audited_server: RunningServer):
    server = audited_server
    unique = uuid.uuid4().hex[:8]
    editor = await _editor(server, f"expiring-{unique}")
    graph = await add_graph(editor, unique)
    await Session.filter(user__username=f"expiring-{unique}").update(
        expires_at=datetime.now(UTC) + timedelta(seconds=1)
    )
    cookies = {SESSION_COOKIE: editor.http.cookies[SESSION_COOKIE]}
    async with graphql_socket(server.ws_url, "graphql-ws", cookies=cookies) as socket:
        operation = await socket.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        await socket.next_payload(operation)
        await assert_ended_unauthenticated(socket, operation)
    await editor.http.aclose()


async def test_only_staff_operations_are_watched_while_they_run(audited_server: RunningServer):
    server = audited_server
    unique = uuid.uuid4().hex[:8]
    editor = await _editor(server, f"watched-{unique}")
    cookies = {SESSION_COOKIE: editor.http.cookies[SESSION_COOKIE]}
    access = server.services.access
    before = access.watched
    async with graphql_socket(server.ws_url, cookies=cookies) as socket:
        operation = await socket.subscribe("subscription { streams { uuid } }")
        await socket.next_payload(operation)
        assert access.watched == before + 1
        await socket.stop(operation)
        await eventually(lambda: access.watched == before)
        # A public operation of the same staff user survives its logout.
        public = await socket.subscribe("{ isAuthenticated { username } }")
        assert (await socket.next_payload(public))["data"]["isAuthenticated"]
        assert access.watched == before
    await editor.http.aclose()


async def test_logout_through_one_process_ends_subscriptions_on_another(tmp_path: Path):
    async with RedisServer() as redis, postgres_database() as database_url:
        with tempfile.TemporaryDirectory() as data_dir:
            env = server_env(
                data_dir,
                database_url=database_url,
                redis_url=redis.url,
                redis_prefix=f"access-{uuid.uuid4().hex[:6]}",
            )
            await asyncio.to_thread(prepare_database, env)
            async with server_process(env) as first, server_process(env) as second:
                http = await staff_session(first)
                graph_uuid = await add_graph_over(http, first.url)
                cookies = {SESSION_COOKIE: http.cookies[SESSION_COOKIE]}
                async with graphql_socket(second.ws_url, cookies=cookies) as socket:
                    operation = await socket.subscribe(GRAPH_SUB, {"g": graph_uuid})
                    await socket.next_payload(operation, timeout=15)
                    await http.post(first.url, json={"query": "mutation { authLogout }"})
                    await assert_ended_unauthenticated(socket, operation)
                await http.aclose()
