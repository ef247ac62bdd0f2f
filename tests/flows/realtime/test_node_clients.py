"""The npm clients the editor (graphql-ws) and listener app (subscriptions-transport-ws) use.

Each runs in Node against a running server: it subscribes to a graph, a change is
made over HTTP, and the client must print the graph before and after. Needs Node
and npm (the packages are installed from the npm registry into a cache folder).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gencaster.auth import SESSION_COOKIE
from tests.support.builders import add_graph, add_node
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

CLIENTS = Path(__file__).with_name("node_clients")
GRAPH_SUB = "subscription($g: UUID!) { graph(graphUuid: $g) { nodes { name } } }"


@pytest.fixture(scope="session")
def node_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js and npm are not installed")
    folder = tmp_path_factory.mktemp("node-clients")
    for name in ("package.json", "subscribe.mjs"):
        shutil.copy(CLIENTS / name, folder / name)
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"npm install failed: {done.stderr.decode()[-500:]}")
    return folder


@pytest.mark.parametrize("client", ["graphql-ws", "subscriptions-transport-ws"])
async def test_npm_clients_receive_graph_updates(
    server: RunningServer, staff: GraphQLClient, unique: str, node_clients: Path, client: str
):
    graph = await add_graph(staff, unique)
    cookie = f"{SESSION_COOKIE}={staff.http.cookies[SESSION_COOKIE]}"
    process = await asyncio.create_subprocess_exec(
        "node",
        "subscribe.mjs",
        client,
        server.ws_url,
        cookie,
        "2",
        GRAPH_SUB,
        json.dumps({"g": graph["uuid"]}),
        cwd=node_clients,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    first = await asyncio.wait_for(process.stdout.readline(), 20)
    assert json.loads(first)["data"]["graph"]["nodes"] == [{"name": "Start"}]
    await add_node(staff, graph["uuid"], "from-http")
    second = await asyncio.wait_for(process.stdout.readline(), 20)
    names = {node["name"] for node in json.loads(second)["data"]["graph"]["nodes"]}
    assert names == {"Start", "from-http"}
    assert await asyncio.wait_for(process.wait(), 20) == 0, await process.stderr.read()
