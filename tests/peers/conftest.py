"""The real editor and listener app, built outside this repository, against a real server.

Give the built apps' folders (their ``dist/``) in ``GENCASTER_PEERS_EDITOR_DIST`` and
``GENCASTER_PEERS_FRONT_DIST``, and the backend URL they were built with
(``VITE_BACKEND_URL``) in ``GENCASTER_PEERS_BACKEND_URL`` (default: the apps' own
default, ``http://127.0.0.1:8081``). Each app is served on an origin of its own and
``gencaster serve`` runs on the backend URL's port with CORS for exactly those two
origins. Without the folders (or without Chromium) every test here skips.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.peers.watch import Watch
from tests.support.browser import chromium, chromium_path, static_site
from tests.support.graphql import GraphQLClient
from tests.support.logs import log_problems
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port

DEFAULT_BACKEND = "http://127.0.0.1:8081"


def _dist(variable: str) -> Path:
    value = os.environ.get(variable, "")
    if not value or not (Path(value) / "index.html").is_file():
        pytest.skip(f"{variable} does not name a built app (a folder with index.html)")
    return Path(value)


@dataclass
class Peers:
    """The running server, the apps' origins and what the browser reported."""

    server: ServerProcess
    editor: str
    front: str
    osc_port: int
    log: Path
    watches: list[Watch] = field(default_factory=list)

    @property
    def graphql_url(self) -> str:
        return self.server.url

    async def shot(self, page: Any, name: str) -> None:
        """A screenshot into ``GENCASTER_PEERS_SHOTS``, when that names a folder."""
        folder = os.environ.get("GENCASTER_PEERS_SHOTS")
        if folder:
            await asyncio.to_thread(Path(folder).mkdir, parents=True, exist_ok=True)
            await page.screenshot(path=str(Path(folder) / f"{name}.png"))

    def watch(self, page: Any, name: str, *, ignore: tuple[str, ...] = ()) -> Watch:
        watch = Watch(name, ignore=ignore)
        watch.attach(page)
        self.watches.append(watch)
        return watch


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[str, str]]:
    editor_dist = _dist("GENCASTER_PEERS_EDITOR_DIST")
    front_dist = _dist("GENCASTER_PEERS_FRONT_DIST")
    if chromium_path() is None:
        pytest.skip("Chromium is not installed")
    with ExitStack() as stack:
        editor = stack.enter_context(static_site(spa_root=editor_dist))
        front = stack.enter_context(static_site(spa_root=front_dist))
        yield editor, front


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def peers(
    apps: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Peers]:
    editor, front = apps
    backend = urlsplit(os.environ.get("GENCASTER_PEERS_BACKEND_URL", DEFAULT_BACKEND))
    tmp = tmp_path_factory.mktemp("peers")
    osc_port = free_port(socket.SOCK_DGRAM)
    env = server_env(
        str(tmp),
        cors_origins=f"{editor},{front}",
        osc_host="127.0.0.1",
        osc_port=str(osc_port),
        host=backend.hostname or "127.0.0.1",
    )
    prepare_database(env)
    log = tmp / "server.log"
    async with server_process(env, output=log, port=backend.port or 80) as server:
        peers = Peers(server=server, editor=editor, front=front, osc_port=osc_port, log=log)
        yield peers
    problems = log_problems(log.read_text(errors="replace"))
    assert problems == [], "the server logged problems:\n" + "\n".join(problems)


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="session")
async def staff(peers: Peers) -> AsyncIterator[GraphQLClient]:
    """The staff user over plain HTTP, to set up stories and check what the apps did."""
    async with GraphQLClient(peers.graphql_url) as client:
        assert (await client.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
        yield client
