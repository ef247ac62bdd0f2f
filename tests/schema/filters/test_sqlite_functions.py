"""The SQL functions SQLite gets for the lookups, checked in plain SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from gencaster.sqlite import install_sqlite_functions, register_sqlite_functions
from tests.schema.filters.filter_models import FilterItem
from tests.schema.filters.support import on_db_loop

# Only ScratchItem: a second context loading FilterItem would rebind it from ``db``.
SCRATCH_MODELS = "tests.schema.filters.scratch_models"


@pytest_asyncio.fixture
async def connection(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    async with aiosqlite.connect(tmp_path / "functions.sqlite3") as conn:
        await register_sqlite_functions(conn)
        yield conn


async def scalar(connection: aiosqlite.Connection, sql: str, *params: Any) -> Any:
    async with connection.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT ? LIKE ?", ("ABC", "abc"), 0),
        ("SELECT ? LIKE ?", ("abc", "a_c"), 1),
        ("SELECT ? LIKE ?", ("a\nc", "a%"), 1),
        ("SELECT ? LIKE ? ESCAPE '\\'", ("50%", "50\\%"), 1),
        ("SELECT ? LIKE ? ESCAPE '\\'", ("500", "50\\%"), 0),
        ("SELECT ? LIKE ? ESCAPE '\\'", ("a\\b", "a\\\\b"), 1),
        ("SELECT NULL LIKE ?", ("a",), None),
        ("SELECT upper(?)", ("äöü straße",), "ÄÖÜ STRAßE"),
        ("SELECT upper(NULL)", (), None),
        ("SELECT ? REGEXP ?", ("Alpha", "^A"), 1),
        ("SELECT ? REGEXP ?", ("alpha", "^A"), 0),
        ("SELECT ? MATCH ?", ("alpha", "^A"), 1),
        ("SELECT ? MATCH ?", ("öl", "ÖL"), 1),
        ("SELECT ? REGEXP ?", ("anything", ""), 1),
        ("SELECT NULL REGEXP ?", ("",), None),
        ("SELECT 15 REGEXP ?", ("^1",), 1),
    ],
)
async def test_sql_function(
    connection: aiosqlite.Connection, sql: str, params: tuple[Any, ...], expected: Any
) -> None:
    assert await scalar(connection, sql, *params) == expected


async def test_functions_survive_a_reconnect(tmp_path: Path) -> None:
    config = {
        "connections": {
            "functions": {
                "engine": "gencaster.sqlite",
                "credentials": {"file_path": str(tmp_path / "reconnect.sqlite3")},
            }
        },
        "apps": {"scratch": {"models": [SCRATCH_MODELS], "default_connection": "functions"}},
    }
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        client = ctx.db()
        for _ in range(2):
            assert await client.execute_query_dict("SELECT 'a' REGEXP 'a' AS hit") == [{"hit": 1}]
            await client.close()


async def test_install_on_a_plain_sqlite_client(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'plain.sqlite3'}"
    async with TortoiseContext() as ctx:
        await ctx.init(db_url=url, modules={"scratch": [SCRATCH_MODELS]})
        assert await install_sqlite_functions(ctx.db()) is True
        rows = await ctx.db().execute_query_dict("SELECT 'ABC' LIKE 'abc' AS hit")
        assert rows == [{"hit": 0}]


@on_db_loop
async def test_install_does_nothing_elsewhere(db: str) -> None:
    assert await install_sqlite_functions(FilterItem._meta.db) is (db == "sqlite")
