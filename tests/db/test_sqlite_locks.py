"""Several processes on one SQLite file: writers wait for each other, and a lock held
too long is an outage (SERVICE_UNAVAILABLE, one log line), not an internal error."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from gencaster.db import connection_config, is_unavailable, log_failure
from gencaster.sqlite import SqliteClientWithFunctions
from tests.support.builders import ADD_GRAPH, graph_input
from tests.support.processes import prepare_database, server_env, server_process, staff_session

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _client(url: str, name: str) -> SqliteClientWithFunctions:
    """A connection of its own, as another worker process would have."""
    config = connection_config(url)
    assert isinstance(config, dict)
    return SqliteClientWithFunctions(connection_name=name, **config["credentials"])


async def test_transactions_that_read_then_write_wait_for_other_connections(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'db.sqlite3'}"
    clients = [_client(url, f"worker-{i}") for i in range(4)]
    await clients[0].execute_script(
        "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)"
    )

    async def bump(client: SqliteClientWithFunctions) -> None:
        for _ in range(10):
            async with client._in_transaction() as connection:
                _, rows = await connection.execute_query("SELECT n FROM counter")
                await asyncio.sleep(0.001)  # another worker writes meanwhile
                await connection.execute_query("UPDATE counter SET n = ?", [rows[0]["n"] + 1])

    try:
        with TortoiseContext():  # transactions register their connection in a context
            await asyncio.gather(*(bump(client) for client in clients))
        _, rows = await clients[0].execute_query("SELECT n FROM counter")
        assert rows[0]["n"] == 40  # every read-then-write saw the one before
    finally:
        for client in clients:
            await client.close()


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """What a long admin command or a manual ``sqlite3`` session does."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


async def test_a_database_locked_past_the_busy_timeout_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "db.sqlite3"
    url = f"sqlite://{path}?busy_timeout=50"
    client = _client(url, "locked")
    await client.execute_script("CREATE TABLE beacon (n INTEGER)")
    holder = _hold_write_lock(path)
    log = logging.getLogger("gencaster.test_sqlite_locks")
    caplog.set_level(logging.WARNING, logger=log.name)
    try:
        with pytest.raises(Exception) as raised:
            await client.execute_query("INSERT INTO beacon VALUES (1)")
        with TortoiseContext(), pytest.raises(Exception) as raised_in_transaction:
            async with client._in_transaction() as connection:
                await connection.execute_query("INSERT INTO beacon VALUES (1)")
    finally:
        holder.rollback()
        holder.close()
        await client.close()
    for error in (raised.value, raised_in_transaction.value):
        assert is_unavailable(error)
        log_failure(log, error, "Beacon of %s not recorded", "fake")
    records = caplog.records
    assert [r.getMessage() for r in records] == [
        "Beacon of fake not recorded: the database is locked by another connection"
    ] * 2
    assert all(r.exc_info is None for r in records)


async def test_a_request_while_the_database_stays_locked_is_service_unavailable(tmp_path: Path):
    env = server_env(str(tmp_path))
    prepare_database(env)
    log = tmp_path / "server.log"
    async with server_process(env, output=log) as running:
        staff = await staff_session(running)
        holder = _hold_write_lock(tmp_path / "gencaster.sqlite3")
        try:
            response = await staff.post(
                running.url, json={"query": ADD_GRAPH, "variables": {"input": graph_input("x")}}
            )
        finally:
            holder.rollback()
            holder.close()
        body: dict[str, Any] = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"], body
        again = await staff.post(
            running.url, json={"query": ADD_GRAPH, "variables": {"input": graph_input("y")}}
        )
        assert again.json()["data"]["addGraph"]["name"] == "graph-y"
        await staff.aclose()
    assert "Traceback" not in log.read_text()
