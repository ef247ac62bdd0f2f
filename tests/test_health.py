"""/healthz answers; /readyz follows the database, Redis and migrations as they come and go."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from gencaster.cli import migrate_database
from gencaster.migrations import known_versions
from tests.conftest import make_settings
from tests.support.databases import database
from tests.support.polling import eventually
from tests.support.processes import RedisServer
from tests.support.proxy import TcpProxy
from tests.support.server import RunningServer, running_server


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[RedisServer]:
    async with RedisServer() as server:
        yield server


async def _readyz(client: httpx.AsyncClient, server: RunningServer) -> httpx.Response:
    return await client.get(f"{server.url}/readyz", timeout=30)


async def _until(client: httpx.AsyncClient, server: RunningServer, status: int) -> dict:
    async def reached() -> dict | None:
        response = await _readyz(client, server)
        return response.json() if response.status_code == status else None

    return await eventually(reached, within=30, interval=0.1, message=f"/readyz never {status}")


async def test_readyz_follows_the_database_and_redis(tmp_path: Path, redis: RedisServer) -> None:
    async with database("postgres", tmp_path) as url:
        proxy = TcpProxy.in_front_of(url)
        await proxy.start()
        settings = make_settings(tmp_path, proxy.url(url), redis_url=f"{redis.url}/0")
        await migrate_database(settings)
        try:
            async with running_server(settings) as server, httpx.AsyncClient() as client:
                healthy = await client.get(f"{server.url}/healthz")
                assert healthy.status_code == 200 and healthy.json() == {"status": "ok"}
                ready = await _until(client, server, 200)
                assert ready["checks"] == {
                    "database": "ok",
                    "migrations": "ok",
                    "broker": "ok",
                    "osc": "ok",
                }

                await redis.kill()
                down = await _until(client, server, 503)
                assert down["checks"]["broker"] != "ok" and down["checks"]["database"] == "ok"
                assert (await client.get(f"{server.url}/healthz")).status_code == 200
                await redis.start()
                await _until(client, server, 200)

                await proxy.cut()
                down = await _until(client, server, 503)
                assert down["checks"]["database"] != "ok" and down["checks"]["broker"] == "ok"
                await proxy.restore()
                await _until(client, server, 200)
        finally:
            await proxy.close()


async def test_readyz_waits_for_pending_migrations(tmp_path: Path) -> None:
    """Code one migration ahead of its database: not ready until the migration is in."""
    async with database("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url, osc_port=0)
        await migrate_database(settings)
        latest = known_versions()[-1]
        sqlite = sqlite3.connect(urlsplit(url).path)
        row = sqlite.execute("SELECT * FROM aerich WHERE version = ?", (latest,)).fetchone()
        sqlite.execute("DELETE FROM aerich WHERE version = ?", (latest,))
        sqlite.commit()
        async with running_server(settings) as server, httpx.AsyncClient() as client:
            pending = await _until(client, server, 503)
            assert pending["checks"]["migrations"].startswith("1 migration(s) pending")
            assert "osc" not in pending["checks"]  # this process runs no OSC server
            marks = ",".join("?" * len(row))
            sqlite.execute(f"INSERT INTO aerich VALUES ({marks})", row)
            sqlite.commit()
            ready = await _until(client, server, 200)
            assert ready["checks"]["migrations"] == "ok"
        sqlite.close()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_head_and_need_no_login(tmp_path: Path, path: str) -> None:
    async with database("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url, osc_port=0)
        await migrate_database(settings)
        async with running_server(settings) as server, httpx.AsyncClient() as client:
            response = await client.get(f"{server.url}{path}")
            assert response.status_code == 200, response.text
            assert (await client.head(f"{server.url}{path}")).status_code == 200
