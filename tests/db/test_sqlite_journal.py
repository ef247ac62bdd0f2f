"""The embedded SQLite database journals to a write-ahead log synced at checkpoints."""

from __future__ import annotations

from pathlib import Path

from tortoise import connections

from gencaster.db import open_database


async def pragma(name: str) -> object:
    _, rows = await connections.get("default").execute_query(f"PRAGMA {name}")
    return rows[0][0]


async def test_sqlite_commits_go_to_a_write_ahead_log_without_an_fsync_each(tmp_path: Path):
    async with open_database(f"sqlite://{tmp_path / 'db.sqlite3'}"):
        assert await pragma("journal_mode") == "wal"
        assert await pragma("synchronous") == 1  # NORMAL: synced at checkpoints


async def test_the_database_url_may_ask_for_full_syncs(tmp_path: Path):
    async with open_database(f"sqlite://{tmp_path / 'db.sqlite3'}?synchronous=FULL"):
        assert await pragma("synchronous") == 2
