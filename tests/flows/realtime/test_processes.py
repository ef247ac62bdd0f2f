"""Several server processes, one PostgreSQL and one Redis; and Redis going away."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import uuid

import pytest

from gencaster.auth import SESSION_COOKIE
from tests.support.databases import postgres_database
from tests.support.processes import (
    ROOT,
    RedisServer,
    prepare_database,
    server_env,
    server_process,
    staff_session,
)
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRAPH_SUB = "subscription($g: UUID!) { graph(graphUuid: $g) { nodes { name } } }"
ADD_GRAPH = """mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid } }"""
ADD_NODE = "mutation($n: NodeCreate!) { addNode(newNode: $n) }"


async def add_graph(http, url: str) -> str:
    name = f"multi-{uuid.uuid4().hex[:8]}"
    response = await http.post(
        url,
        json={
            "query": ADD_GRAPH,
            "variables": {
                "i": {
                    "name": name,
                    "displayName": name,
                    "slugName": name,
                    "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                    "templateName": "DEFAULT",
                }
            },
        },
    )
    return response.json()["data"]["addGraph"]["uuid"]


async def node_names(socket, operation: str) -> set[str]:
    payload = await socket.next_payload(operation, timeout=15)
    return {node["name"] for node in payload["data"]["graph"]["nodes"]}


async def test_a_change_through_one_process_reaches_subscribers_on_another(
    redis_server: RedisServer,
):
    async with postgres_database() as database_url:
        with tempfile.TemporaryDirectory() as data_dir:
            env = server_env(
                data_dir,
                database_url=database_url,
                redis_url=f"{redis_server.url}/0",
                redis_prefix=f"multi-{uuid.uuid4().hex[:6]}",
            )
            await asyncio.to_thread(prepare_database, env)
            async with server_process(env) as first, server_process(env) as second:
                http = await staff_session(first)
                graph_uuid = await add_graph(http, first.url)
                cookies = {SESSION_COOKIE: http.cookies[SESSION_COOKIE]}
                async with graphql_socket(second.ws_url, "graphql-ws", cookies=cookies) as socket:
                    op = await socket.subscribe(GRAPH_SUB, {"g": graph_uuid})
                    assert await node_names(socket, op) == {"Start"}
                    await http.post(
                        first.url,
                        json={
                            "query": ADD_NODE,
                            "variables": {"n": {"name": "from-first", "graphUuid": graph_uuid}},
                        },
                    )
                    assert await node_names(socket, op) == {"Start", "from-first"}
                await http.aclose()


async def test_subscriptions_survive_a_redis_restart(redis_server: RedisServer, tmp_path):
    env = server_env(
        str(tmp_path),
        redis_url=f"{redis_server.url}/0",
        redis_prefix=f"restart-{uuid.uuid4().hex[:6]}",
    )
    await asyncio.to_thread(prepare_database, env)
    async with server_process(env) as server:
        http = await staff_session(server)
        graph_uuid = await add_graph(http, server.url)
        cookies = {SESSION_COOKIE: http.cookies[SESSION_COOKIE]}
        async with graphql_socket(server.ws_url, cookies=cookies) as socket:
            op = await socket.subscribe(GRAPH_SUB, {"g": graph_uuid})
            assert await node_names(socket, op) == {"Start"}
            await redis_server.kill()
            # While Redis is away, writes still succeed; their updates are lost.
            down = await http.post(
                server.url,
                json={
                    "query": ADD_NODE,
                    "variables": {"n": {"name": "while-down", "graphUuid": graph_uuid}},
                },
            )
            assert "errors" not in down.json(), down.text
            await redis_server.start()
            names: set[str] = set()
            for attempt in range(50):  # the broker reconnects with back-off
                await http.post(
                    server.url,
                    json={
                        "query": ADD_NODE,
                        "variables": {"n": {"name": f"after-{attempt}", "graphUuid": graph_uuid}},
                    },
                )
                try:
                    names = await node_names(socket, op)
                except TimeoutError:
                    continue
                # The broker's resync may re-send the graph before this change is in.
                if any(n.startswith("after-") for n in names):
                    break
            assert "while-down" in names and any(n.startswith("after-") for n in names)
        await http.aclose()


async def test_more_workers_without_redis_refuse_to_start(tmp_path):
    env = server_env(str(tmp_path), workers="2")
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gencaster.cli", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert b"GENCASTER_REDIS_URL" in done.stderr


async def test_more_workers_need_the_osc_server_in_its_own_process():
    from gencaster.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="GENCASTER_OSC_PORT=0"):
        Settings(workers=2, redis_url="redis://127.0.0.1:6379/0")
    assert Settings(workers=2, redis_url="redis://127.0.0.1:6379/0", osc_port=0).workers == 2
