"""Real databases for tests: a temporary SQLite file, or a fresh PostgreSQL database.

Each PostgreSQL database gets a random name and is dropped afterwards, so runs
never collide or leave state behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from tortoise.backends.base.executor import EXECUTOR_CACHE

POSTGRES_ADMIN_URL = os.environ.get(
    "GENCASTER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("GENCASTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _with_database(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    name = f"gencaster_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(POSTGRES_ADMIN_URL, name)
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def sqlite_database(directory: Path) -> AsyncIterator[str]:
    yield f"sqlite://{directory / f'gencaster-{uuid.uuid4().hex[:8]}.sqlite3'}"


def forget_compiled_queries() -> None:
    """Tortoise caches compiled queries by connection name, not by dialect.

    A server process only ever talks to one database, but the test process
    switches between SQLite and PostgreSQL under the same connection name.
    """
    EXECUTOR_CACHE.clear()


@asynccontextmanager
async def database(kind: str, directory: Path) -> AsyncIterator[str]:
    manager = postgres_database() if kind == "postgres" else sqlite_database(directory)
    forget_compiled_queries()
    async with manager as url:
        yield url
    forget_compiled_queries()
