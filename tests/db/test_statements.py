"""``update_where`` writes what the ORM's UPDATE writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from gencaster.cli import migrate_database
from gencaster.db import tortoise_config
from gencaster.engine.engine import rng_state_of
from gencaster.settings import Settings
from gencaster.statements import update_where
from models import Graph, InstructionState, Stream, StreamInstruction, StreamPoint, StreamWalk
from tests.support.databases import database


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database(request.param, tmp_path) as url:
        await migrate_database(Settings(data_dir=tmp_path, database_url=url))
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            yield request.param


async def _instruction() -> StreamInstruction:
    point = await StreamPoint.create(host="127.0.0.1", port=random.randint(1024, 65535))
    return await StreamInstruction.create(
        stream_point=point, instruction_text="1", state=InstructionState.SENT
    )


async def test_a_conditional_update_changes_only_matching_rows(db: str):
    row, other = await _instruction(), await _instruction()
    later = now()
    below = [InstructionState.SENT, InstructionState.RECEIVED]
    changes = {"state": InstructionState.FINISHED, "modified_date": later, "return_value": "2"}
    assert await update_where(StreamInstruction, changes, {"uuid": row.uuid, "state": below}) == 1
    assert await update_where(StreamInstruction, changes, {"uuid": row.uuid, "state": below}) == 0
    assert await update_where(StreamInstruction, changes, {"uuid": row.uuid, "state": []}) == 0
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert (stored.state, stored.return_value, stored.modified_date) == (
        InstructionState.FINISHED,
        "2",
        later,
    )
    assert (await StreamInstruction.get(uuid=other.uuid)).state == InstructionState.SENT


async def test_json_uuid_and_null_values_read_back_as_the_orm_wrote_them(db: str):
    point = await StreamPoint.create(host="127.0.0.1", port=random.randint(1024, 65535))
    unique = uuid.uuid4().hex[:8]
    graph = await Graph.create(name=f"g-{unique}", display_name="g", slug_name=f"g-{unique}")
    stream = await Stream.create(stream_point=point, graph=graph)
    await StreamWalk.create(stream=stream, fence=3)
    state = rng_state_of(random.Random(7))
    node, instruction = uuid.uuid4(), uuid.uuid4()
    changes = {"node_uuid": node, "instruction_uuid": instruction, "rng_state": state}
    async with in_transaction():  # on the transaction's connection, not beside it
        written = await update_where(StreamWalk, changes, {"stream_id": stream.uuid, "fence": 3})
    assert written == 1
    walk = await StreamWalk.get(stream_id=stream.uuid)
    assert (walk.node_uuid, walk.instruction_uuid, walk.rng_state) == (node, instruction, state)
    changes = {"instruction_uuid": None, "ended": True}
    assert await update_where(StreamWalk, changes, {"stream_id": stream.uuid, "fence": 2}) == 0
    assert await update_where(StreamWalk, changes, {"stream_id": stream.uuid, "fence": 3}) == 1
    walk = await StreamWalk.get(stream_id=stream.uuid)
    assert (walk.instruction_uuid, walk.ended) == (None, True)
