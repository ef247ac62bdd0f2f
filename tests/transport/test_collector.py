"""Closed connections leave no cyclic garbage, and the freeze policy runs in a real server.

With the ``freeze`` policy (gencaster/collector.py) an object that survived a full
collection is never collected again, so whatever a closed connection leaves in a
cycle would stay for good. These tests look for that garbage with the collector's
own census (``gc.DEBUG_SAVEALL``) after real HTTP and WebSocket connections closed.
"""

from __future__ import annotations

import asyncio
import gc
import re
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sanic.http.http1 import Http
from sanic.request import Request
from websockets.asyncio.client import connect

from gencaster.collector import CollectorPolicy
from tests.support.processes import prepare_database, server_env, server_process

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRAPHS = "subscription { graphs { uuid } }"


@contextmanager
def garbage_census(app: object) -> Iterator[Counter[type]]:
    """Counts, by type, the unreachable Sanic ``Http`` and ``Request`` objects of ``app``
    made inside the block (other tests' servers may share the process).

    Automatic collection is off inside, so nothing is freed by the collector before
    it is counted."""
    kinds: Counter[type] = Counter()
    gc.collect()
    gc.disable()
    try:
        yield kinds
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        kinds.update(type(item) for item in gc.garbage if _of_app(item, app))
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
        gc.collect()


def _of_app(item: object, app: object) -> bool:
    if isinstance(item, Request):
        return item.app is app
    if isinstance(item, Http):
        return getattr(item.protocol, "app", None) is app
    return False


async def _subscribe_and_close(ws_url: str) -> None:
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send('{"type":"connection_init","payload":{}}')
        await socket.recv()
        await socket.send(
            '{"id":"1","type":"subscribe","payload":{"query":"%s"}}' % GRAPHS  # noqa: UP031
        )
        await asyncio.sleep(0.1)


async def test_closed_websockets_and_http_connections_leave_no_cycles(server_with):
    server = await server_with()
    with garbage_census(server.app) as kinds:
        for _ in range(5):
            await _subscribe_and_close(server.ws_url)
        for _ in range(5):
            async with httpx.AsyncClient() as client:
                answer = await client.post(server.graphql_url, json={"query": "{ __typename }"})
                assert answer.status_code == 200
        await asyncio.sleep(0.5)  # the server notices every close
    # Sanic's Http kept a bound method of itself, and after a WebSocket it and its
    # Request pointed at each other: each closed connection left one of each.
    assert kinds[Http] == 0, kinds.most_common(10)
    assert kinds[Request] == 0, kinds.most_common(10)


async def test_the_policy_freezes_after_start_and_after_each_full_collection(server_with):
    server = await server_with(gc_policy="freeze")
    collector: CollectorPolicy = server.app.ctx.collector
    assert collector.installed
    assert gc.get_freeze_count() > 0
    survivor = [1]  # lists are tracked
    gc.collect()  # a full collection: its survivors are frozen within a beat
    for _ in range(50):
        if not _tracked(survivor):
            break
        await asyncio.sleep(0.1)
    assert not _tracked(survivor)  # frozen objects are out of the collector's lists
    # Stopping the app gives everything back to the collector.
    await collector.remove()
    assert gc.get_freeze_count() == 0
    assert not collector.installed


async def test_ctrl_c_during_collections_stops_a_freezing_server(tmp_path):
    """A gc callback would swallow the KeyboardInterrupt; the policy must not use one."""
    env = server_env(str(tmp_path), gc_policy="freeze")
    await asyncio.to_thread(prepare_database, env)
    async with server_process(env) as running:
        for _ in range(3):
            await _subscribe_and_close(running.ws_url)
        running.process.send_signal(signal.SIGINT)
        await asyncio.to_thread(running.process.wait, 30)
        assert running.process.returncode is not None


def _tracked(item: object) -> bool:
    return any(candidate is item for candidate in gc.get_objects())


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


@pytest.mark.parametrize(("policy", "frozen"), [("freeze", True), ("default", False)])
async def test_a_server_process_reports_its_policy_in_metrics(tmp_path, policy, frozen):
    env = server_env(str(tmp_path), gc_policy=policy)
    await asyncio.to_thread(prepare_database, env)
    async with server_process(env) as running:
        for _ in range(3):
            await _subscribe_and_close(running.ws_url)
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{running.port}/metrics")).text
    assert (_metric(text, "gencaster_gc_frozen_objects") > 10_000) is frozen
