"""One seeded database per backend (SQLite file, fresh PostgreSQL), shared by this folder.

The rows never change, so every test only reads; each test using ``db`` runs on both
backends, on the session's event loop (where the databases live).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from tests.schema.filters.support import seed

POSTGRES_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}


@asynccontextmanager
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database with byte-order collation (so gt/lt agree with SQLite)."""
    name = f"gencaster_filters_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**POSTGRES_ADMIN)
    try:
        await admin.execute(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C'"
        )
    finally:
        await admin.close()
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        admin = await asyncpg.connect(**POSTGRES_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def connection_config(kind: str, directory: Path) -> AsyncIterator[str | dict[str, Any]]:
    """Tortoise's connection config: SQLite through the engine that adds the functions."""
    if kind == "postgres":
        async with postgres_url() as url:
            yield url
    else:
        yield {
            "engine": "gencaster.sqlite",
            "credentials": {"file_path": str(directory / "filters.sqlite3")},
        }


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The backend's name, with Tortoise initialised and ``support.ROWS`` in place."""
    async with connection_config(request.param, tmp_path_factory.mktemp("filters")) as url:
        # One connection name per backend: Tortoise 1.1.9 caches INSERT statements
        # process-wide by (connection name, table), so a shared name would hand SQLite's
        # "?" placeholders to PostgreSQL.
        connection = f"filters_{request.param}"
        config = {
            "connections": {connection: url},
            "apps": {
                "models": {
                    "models": ["tests.schema.filters.filter_models"],
                    "default_connection": connection,
                }
            },
        }
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            await ctx.generate_schemas()
            await seed()
            yield request.param
