"""Who may read /metrics, and every worker's figures in one answer."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from gencaster.cli import migrate_database
from tests.conftest import make_settings
from tests.support.databases import REDIS_URL, database, postgres_database
from tests.support.metrics import scrape, value
from tests.support.polling import eventually
from tests.support.processes import prepare_database, server_env, server_process
from tests.support.server import running_server
from tests.support.ws import graphql_socket


async def _status(tmp_path: Path, headers: dict[str, str] | None = None, **settings) -> int:
    async with database("sqlite", tmp_path) as url:
        config = make_settings(tmp_path, url, osc_port=0, **settings)
        await migrate_database(config)
        async with running_server(config) as server, httpx.AsyncClient() as client:
            response = await client.get(f"{server.url}/metrics", headers=headers or {})
            if response.status_code == 200:
                assert response.headers["content-type"].startswith("text/plain")
                assert "gencaster_http_requests_total" in response.text
            return response.status_code


async def test_loopback_reads_metrics_by_default(tmp_path: Path) -> None:
    assert await _status(tmp_path) == 200


async def test_a_client_outside_the_allowed_networks_is_refused(tmp_path: Path) -> None:
    assert await _status(tmp_path, metrics_networks=("10.0.0.0/8",)) == 403


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": "Bearer metrics-token-1"}, 200),
    ],
)
async def test_a_token_is_needed_where_one_is_set(tmp_path: Path, headers, status) -> None:
    assert await _status(tmp_path, headers, metrics_token="metrics-token-1") == status


async def test_every_workers_sockets_are_counted(tmp_path: Path) -> None:
    """Two workers: whichever answers /metrics reports the sockets open on both."""
    async with postgres_database() as database_url:
        with tempfile.TemporaryDirectory() as data_dir:
            env = server_env(
                data_dir,
                database_url=database_url,
                redis_url=REDIS_URL,
                redis_prefix=f"metrics-{uuid.uuid4().hex[:6]}",
                workers="2",
            )
            await asyncio.to_thread(prepare_database, env)
            async with server_process(env) as server, httpx.AsyncClient() as client:
                base = f"http://127.0.0.1:{server.port}"
                name, labels = "gencaster_websockets_open", {"protocol": "graphql-ws"}
                async with AsyncExitStack() as sockets:
                    for _ in range(6):
                        await sockets.enter_async_context(
                            graphql_socket(server.ws_url, "graphql-ws")
                        )

                    async def all_counted() -> bool:
                        # Several scrapes, so both workers answer at least once.
                        for _ in range(4):
                            if value(await scrape(client, base), name, **labels) != 6:
                                return False
                        return True

                    await eventually(all_counted, within=30)

                async def none_open() -> bool:
                    return value(await scrape(client, base), name, **labels) == 0

                await eventually(none_open, within=30)


async def test_clients_that_leave_mid_request_are_counted_apart_from_server_errors(
    tmp_path: Path,
) -> None:
    """A listener navigating away is no 5xx: operators alert on those."""
    async with database("sqlite", tmp_path) as url:
        config = make_settings(tmp_path, url, osc_port=0)
        await migrate_database(config)
        async with running_server(config) as server, httpx.AsyncClient() as client:
            before = await scrape(client, server.url)
            body = b'{"query": "{ graphs { uuid } }"}'
            leavers = [
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body,  # whole request, then gone before the answer
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"query":',  # part of its body
                b"POST /graphql HTTP/1.1\r\n",  # part of its head
            ]
            for request in leavers:
                _, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
                writer.write(request)
                await writer.drain()
                await asyncio.sleep(0.2)  # let the server start on it
                writer.transport.abort()

            async def counted() -> bool:
                after = await scrape(client, server.url)
                closed = value(after, "gencaster_http_requests_total", status="499")
                return closed - value(before, "gencaster_http_requests_total", status="499") >= 2

            await eventually(counted)
            after = await scrape(client, server.url)
    for status in ("500", "503"):
        assert value(after, "gencaster_http_requests_total", status=status) == value(
            before, "gencaster_http_requests_total", status=status
        )
