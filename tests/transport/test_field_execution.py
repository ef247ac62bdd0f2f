"""When one field of a request fails, its siblings are finished or stopped before the answer.

A failed non-null field nulls its parent, so the values of the fields beside it
are no longer wanted. Those started must still end inside the request: none
left running against the database once the client has its answer, and no
resolver coroutine dropped without ever being awaited.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from inspect import isawaitable
from pathlib import Path

import asyncpg
import graphql
import pytest
from graphql import (
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    execute,
    parse,
)

from gencaster.transport.fields import FieldExecution
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXECUTION_CODE = Path(graphql.__file__).parent / "execution"


def running_fields() -> list[asyncio.Task[object]]:
    """Tasks of this process that are stepping a GraphQL field."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and Path(task.get_coro().cr_code.co_filename).parent == EXECUTION_CODE  # type: ignore[union-attr]
    ]


def never_awaited(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "was never awaited" in str(w.message)]


async def test_a_refused_field_leaves_no_sibling_coroutine_unawaited(
    anonymous: GraphQLClient,
):
    # streamPoints is public and resolved asynchronously; nodes is staff-only and is
    # refused before its resolver runs, after streamPoints has been started.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = await anonymous.execute("{ streamPoints { uuid } nodes { uuid } }")
        gc.collect()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert never_awaited(caught) == []


@asynccontextmanager
async def table_locked(server: RunningServer, table: str) -> AsyncIterator[None]:
    """Hold PostgreSQL's strongest lock on ``table``: every read of it waits."""
    connection = await asyncpg.connect(server.settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
            yield
    finally:
        await connection.close()


async def test_no_sibling_field_still_reads_the_database_after_the_answer(
    server: RunningServer, staff: GraphQLClient
):
    if not server.settings.database_url.startswith("postgres"):
        pytest.skip("a table lock that holds readers needs PostgreSQL")
    # graph(pk) fails at once (NOT_FOUND, non-null); streamPoints waits for the lock.
    query = "query($pk: ID!) { streamPoints { uuid } graph(pk: $pk) { uuid } }"
    async with table_locked(server, "stream_point"):
        body = await staff.execute(query, {"pk": str(uuid.uuid4())})
        still_running = running_fields()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    assert still_running == []


async def test_a_failed_list_item_leaves_no_earlier_item_unawaited():
    # Item 1's slow field is started; item 2's non-null "bad" fails before its own
    # slow field starts, which nulls the whole list.
    async def slow(number: int, _info: object) -> int:
        await asyncio.sleep(0)
        return number

    def bad(number: int, _info: object) -> int:
        if number == 2:
            raise ValueError("item 2 is bad")
        return number

    item = GraphQLObjectType(
        "Item",
        {
            "bad": GraphQLField(GraphQLNonNull(GraphQLInt), resolve=bad),
            "slow": GraphQLField(GraphQLInt, resolve=slow),
        },
    )
    items = GraphQLList(GraphQLNonNull(item))
    query = GraphQLObjectType("Query", {"items": GraphQLField(items, resolve=lambda *_: [1, 2])})
    schema = GraphQLSchema(query)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = execute(
            schema, parse("{ items { slow bad } }"), execution_context_class=FieldExecution
        )
        outcome = await result if isawaitable(result) else result
        data, messages = outcome.data, [error.message for error in outcome.errors or []]
        del result, outcome  # the error's traceback holds the frames that hold the items
        gc.collect()
    assert data == {"items": None}
    assert messages == ["item 2 is bad"]
    assert never_awaited(caught) == []
