"""The editor and listener app on origins of their own, as a real browser sees them.

A page served from another port (another origin) does in Chromium what the apps do,
with credentials: log in, ask ``isAuthenticated``, upload a file as multipart, open a
WebSocket subscription and fetch media with a range. A page of an origin that is not
configured gets nothing.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import soundfile

from gencaster.auth import create_user
from gencaster.cli import migrate_database
from tests.conftest import make_settings
from tests.support.browser import chromium, static_site
from tests.support.databases import sqlite_database
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "browser-password-1"
PAGE = Path(__file__).with_name("app_page.html").read_bytes()
LOGIN = """mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) {
  __typename ... on User { username } } }"""
IS_AUTHENTICATED = "{ isAuthenticated { username } }"
ADD_GRAPH = """mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid } }"""
GRAPH_SUBSCRIPTION = "subscription($g: UUID!) { graph(graphUuid: $g) { uuid name } }"
STREAMS_SUBSCRIPTION = "subscription { streams { uuid } }"
ADD_AUDIO_FILE = """mutation($f: AddAudioFile!) { addAudioFile(newAudioFile: $f) {
  __typename ... on AudioFile { uuid file { url size } } ... on InvalidAudioFile { error } } }"""


@dataclass
class Sites:
    server: RunningServer
    allowed: str
    foreign: str


def _wav() -> bytes:
    buffer = io.BytesIO()
    tone = np.sin(np.linspace(0, 2 * np.pi * 220, 4000)) * 0.2
    soundfile.write(buffer, tone, 8000, format="WAV")
    return buffer.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sites(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sites]:
    tmp = tmp_path_factory.mktemp("cors")
    pages = {"/": PAGE}
    with static_site(pages) as allowed, static_site(pages) as foreign:
        async with sqlite_database(tmp) as url:
            settings = make_settings(tmp, url, cors_origins=(allowed,))
            await migrate_database(settings)
            async with running_server(settings) as server:
                await create_user(username="editor", password=PASSWORD, is_staff=True)
                yield Sites(server=server, allowed=allowed, foreign=foreign)


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def _open(browser: Any, origin: str) -> tuple[Any, Any]:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(origin + "/")
    return context, page


async def _gql(page: Any, url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    return await page.evaluate("([u, q, v]) => window.gql(u, q, v)", [url, query, variables or {}])


async def test_an_app_on_its_own_origin_does_everything_with_credentials(
    sites: Sites, browser: Any
):
    server = sites.server
    context, page = await _open(browser, sites.allowed)
    try:
        login = await _gql(page, server.graphql_url, LOGIN, {"u": "editor", "p": PASSWORD})
        assert login["body"]["data"]["authLogin"] == {"__typename": "User", "username": "editor"}
        me = await _gql(page, server.graphql_url, IS_AUTHENTICATED)
        assert me["body"] == {"data": {"isAuthenticated": {"username": "editor"}}}

        graph = await _gql(page, server.graphql_url, ADD_GRAPH, {"i": _graph_input()})
        graph_uuid = graph["body"]["data"]["addGraph"]["uuid"]
        for protocol in ("graphql-ws", "graphql-transport-ws"):  # legacy: the apps' own
            first = await page.evaluate(
                "([u, p, q, v]) => window.subscribe(u, p, q, v)",
                [server.ws_url, protocol, GRAPH_SUBSCRIPTION, {"g": graph_uuid}],
            )
            assert first["data"]["graph"]["uuid"] == graph_uuid, first

        content = _wav()
        uploaded = await page.evaluate(
            "([u, q, b]) => window.upload(u, q, b, 'take.wav')",
            [server.graphql_url, ADD_AUDIO_FILE, base64.b64encode(content).decode()],
        )
        audio = uploaded["body"]["data"]["addAudioFile"]
        assert audio["__typename"] == "AudioFile", uploaded
        media_url = server.url + audio["file"]["url"]
        part = await page.evaluate("([u, r]) => window.media(u, r)", [media_url, "bytes=10-99"])
        assert part == {
            "status": 206,
            "length": 90,
            "contentRange": f"bytes 10-99/{len(content)}",
            "acceptRanges": "bytes",
            "error": None,
        }
        suffix = await page.evaluate("([u, r]) => window.media(u, r)", [media_url, "bytes=-4"])
        assert (suffix["status"], suffix["length"]) == (206, 4), suffix
    finally:
        await context.close()


async def test_a_page_of_another_origin_gets_nothing(sites: Sites, browser: Any):
    server = sites.server
    context, page = await _open(browser, sites.allowed)
    try:
        login = await _gql(page, server.graphql_url, LOGIN, {"u": "editor", "p": PASSWORD})
        assert login["body"]["data"]["authLogin"]["__typename"] == "User"
        # The same browser now holds the editor's session cookie for the server's host.
        foreign = await context.new_page()
        await foreign.goto(sites.foreign + "/")
        refused = await _gql(foreign, server.graphql_url, IS_AUTHENTICATED)
        assert refused["error"] is not None and "body" not in refused, refused
        graph = await _gql(foreign, server.graphql_url, ADD_GRAPH, {"i": _graph_input("x")})
        assert graph["error"] is not None, graph
        socket = await foreign.evaluate(
            "([u, p, q, v]) => window.subscribe(u, p, q, v).catch((e) => ({failed: e.message}))",
            [server.ws_url, "graphql-ws", STREAMS_SUBSCRIPTION, {}],
        )
        assert "failed" in socket, socket
        me = await _gql(page, server.graphql_url, IS_AUTHENTICATED)
        assert me["body"]["data"]["isAuthenticated"] == {"username": "editor"}
    finally:
        await context.close()


def _graph_input(suffix: str = "") -> dict[str, Any]:
    name = f"browser-{suffix}{uuid.uuid4().hex[:8]}"
    return {
        "name": name,
        "displayName": name,
        "slugName": name,
        "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
        "templateName": "DEFAULT",
    }
