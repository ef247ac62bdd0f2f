"""A stream's walk saved as it goes, so another process can resume it where it was.

One ``StreamWalk`` row per stream holds the node, how many of its cells are done, the
instruction the next cell already sent, the step count and the generator's state
(visit counts stay on the stream's row, variables in ``StreamVariable``). The engine
run that holds the stream's claim *takes* the walk: in one transaction it locks the
row and raises its ``fence`` by one, and that number is its token. Every later write
of the run is ``UPDATE … WHERE fence = token``: once another run has taken the walk,
the old run's next write matches nothing, raises ``WalkLost``, and the run stops
before it sends anything more. The claim (``claims.py``) keeps two live runs apart;
the fence keeps a run that merely *thinks* it still holds the claim (a long pause, a
partitioned Redis) from moving the walk or sending for it.

Instructions are recorded in the walk (fenced) before their row is written and before
the datagram leaves, so a run that resumes a walk knows what the lost run had sent,
waits for its ``FINISHED`` through the row's state and never sends it again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tortoise.timezone import now
from tortoise.transactions import in_transaction

from gencaster.engine.engine import WalkLost, WalkPosition, rng_state_of
from gencaster.statements import update_where
from gencaster.streaming.instructions import InstructionDispatcher
from models import Stream, StreamWalk

_RESTART: dict[str, Any] = {
    "node_uuid": None,
    "cell_index": 0,
    "instruction_uuid": None,
    "steps": 0,
    "rng_state": None,
    "ended": False,
}


@dataclass
class StoredWalk:
    """The engine's ``Walk``, stored in the database and fenced by ``fence``."""

    stream_uuid: UUID
    fence: int
    position: WalkPosition
    clean_slate: bool  # the walk has not reset its stream point yet
    dispatcher: InstructionDispatcher
    ended_before: bool = False  # taken without restart, the walk had already ended
    # A finished cell that sent an instruction is written with the walk's next write
    # (see ``cell_done``); these are the changes still to write, and what was written.
    _deferred: dict[str, Any] = field(default_factory=dict)
    _sent_in_cell: bool = False
    _written_rng: Any = None

    @classmethod
    async def take(
        cls, stream_uuid: UUID, *, dispatcher: InstructionDispatcher, restart: bool = True
    ) -> StoredWalk:
        """Take the stream's walk over (or start it) with a new, higher fence.

        Call only while holding the stream's claim. A new walk begins with the clean
        slate; one that had ended starts over at the entry node without it, or, without
        ``restart``, stays ended (``ended_before``).
        """
        await StreamWalk.get_or_create(stream_id=stream_uuid)
        async with in_transaction():
            row = await StreamWalk.filter(stream_id=stream_uuid).select_for_update().get()
            changes: dict[str, Any] = {"fence": row.fence + 1, "modified_date": now()}
            if row.ended and restart:
                changes.update(_RESTART)
            await StreamWalk.filter(uuid=row.uuid).update(**changes)
        position = (
            WalkPosition()
            if row.ended and restart
            else WalkPosition(
                node_uuid=row.node_uuid,
                cell_index=row.cell_index,
                instruction_uuid=row.instruction_uuid,
                steps=row.steps,
                rng_state=row.rng_state,
            )
        )
        # A walk that entered a node had reset its point first.
        clean_slate = not row.reset_done and row.node_uuid is None
        walk = cls(stream_uuid, row.fence + 1, position, clean_slate, dispatcher)
        walk.ended_before = row.ended and not restart
        return walk

    async def _write(self, **changes: Any) -> None:
        changes = {"modified_date": now(), **self._deferred, **changes}
        where = {"stream_id": self.stream_uuid, "fence": self.fence}
        written = await update_where(StreamWalk, changes, where)
        if not written:
            raise WalkLost(f"The walk of stream {self.stream_uuid} was taken over")
        self._deferred = {}
        if "rng_state" in changes:
            self._written_rng = changes["rng_state"]

    async def reset_done(self) -> None:
        await self._write(reset_done=True)

    async def entered(
        self, node_uuid: UUID, steps: int, rng: random.Random, visits: dict[str, int]
    ) -> None:
        # On PostgreSQL the fenced update locks the row until commit: a run taking the
        # walk over waits, so the visit counts are fenced with it.
        async with in_transaction():
            await self._write(
                node_uuid=node_uuid,
                cell_index=0,
                instruction_uuid=None,
                steps=steps,
                rng_state=rng_state_of(rng),
            )
            await Stream.filter(uuid=self.stream_uuid).update(node_visits=dict(visits))

    async def sending(self, instruction_uuid: UUID) -> None:
        await self._write(instruction_uuid=instruction_uuid)
        self._sent_in_cell = True

    async def cell_done(self, next_index: int, rng: random.Random) -> None:
        """Note the cell done; written now, or with the next write when nothing is lost.

        A cell that sent an instruction and drew no random number needs no write of
        its own: the walk still names its instruction, and a run resuming the walk
        finds it FINISHED and goes on after the cell. So the write that sends the next
        instruction carries it, one statement fewer between FINISHED and that send.
        """
        state = rng_state_of(rng)
        sent, self._sent_in_cell = self._sent_in_cell, False
        if sent and state == self._written_rng:
            # The stored state is this one already: the write that carries the cell
            # need not encode its 625 numbers again.
            self._deferred = {"cell_index": next_index, "instruction_uuid": None}
            return
        await self._write(cell_index=next_index, instruction_uuid=None, rng_state=state)

    async def guard(self) -> None:
        if not await StreamWalk.exists(stream_id=self.stream_uuid, fence=self.fence):
            raise WalkLost(f"The walk of stream {self.stream_uuid} was taken over")

    async def settle(self, instruction_uuid: UUID, timeout: float) -> bool:
        return await self.dispatcher.follow(instruction_uuid, timeout) is not None

    async def ended(self) -> None:
        await self._write(ended=True, instruction_uuid=None)
