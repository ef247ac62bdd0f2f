"""The aerich migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import pytest
from tortoise import Tortoise

from gencaster.cli import migrate_database
from gencaster.db import tortoise_config
from gencaster.settings import Settings
from tests.support.databases import database

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _sqlite_schema(url: str) -> dict[str, Any]:
    path = url.removeprefix("sqlite://")
    async with aiosqlite.connect(path) as db:
        tables = [
            row[0]
            async for row in await db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        result: dict[str, Any] = {}
        for table in tables:
            columns = [
                (row[1], row[2], row[3], row[5])
                async for row in await db.execute(f'PRAGMA table_info("{table}")')
            ]
            foreign = sorted(
                [
                    (row[3], row[2], row[4], row[6])
                    async for row in await db.execute(f'PRAGMA foreign_key_list("{table}")')
                ]
            )
            indexes = sorted(
                [
                    (row[1], row[2])
                    async for row in await db.execute(f'PRAGMA index_list("{table}")')
                ]
            )
            index_sql = sorted(
                [
                    row[0]
                    async for row in await db.execute(
                        "SELECT sql FROM sqlite_master "
                        "WHERE type='index' AND tbl_name=? AND sql IS NOT NULL",
                        (table,),
                    )
                ]
            )
            result[table] = (sorted(columns), foreign, [i[1] for i in indexes], index_sql)
        return result


async def _postgres_schema(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name, data_type, is_nullable "
            "FROM information_schema.columns WHERE table_schema='public'"
        )
        indexes = await connection.fetch(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname='public'"
        )
        constraints = await connection.fetch(
            "SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS d "
            "FROM pg_constraint WHERE connamespace='public'::regnamespace"
        )
    finally:
        await connection.close()
    result: dict[str, Any] = {}
    for row in columns:
        result.setdefault(
            row["table_name"], {"columns": set(), "indexes": set(), "constraints": set()}
        )
        result[row["table_name"]]["columns"].add(tuple(row.values())[1:])
    for row in indexes:
        result[row["tablename"]]["indexes"].add((row["indexname"], row["indexdef"]))
    for row in constraints:
        result[row["t"].strip('"')]["constraints"].add(row["d"])
    return result


async def _from_models(url: str) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        await Tortoise.generate_schemas(safe=False)
    finally:
        await Tortoise.close_connections()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_migrations_match_the_models(kind: str, tmp_path: Path):
    read = _sqlite_schema if kind == "sqlite" else _postgres_schema
    async with database(kind, tmp_path) as migrated, database(kind, tmp_path) as generated:
        applied = await migrate_database(Settings(data_dir=tmp_path, database_url=migrated))
        assert applied, "the initial migration was not applied"
        await _from_models(generated)
        from_migrations = await read(migrated)
        from_models = await read(generated)
    from_migrations.pop("aerich", None)
    from_models.pop("aerich", None)
    assert set(from_migrations) == set(from_models)
    for table in from_models:
        assert from_migrations[table] == from_models[table], table


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_migrating_twice_applies_nothing_the_second_time(kind: str, tmp_path: Path):
    async with database(kind, tmp_path) as url:
        settings = Settings(data_dir=tmp_path, database_url=url)
        assert await migrate_database(settings)
        assert await migrate_database(settings) == []
