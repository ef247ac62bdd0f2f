"""Instructions to stream points: create, send, and follow their acknowledgements (OSC.md).

The row is written with state ``SENT`` before the datagram leaves: the real instance
answers ``FINISHED`` in under a millisecond, so a later write of ``SENT`` would race it
and move the state back. Acknowledgements only ever move a state forward, in one
conditional ``UPDATE``, so duplicated or reordered ones are harmless.

An acknowledgement that arrives while the database is away is written once it is
back: the point never repeats it, and an engine may be waiting for it.

Waiting for ``FINISHED`` is event-driven: the waiter subscribes to the instruction's
channel before the datagram leaves, and whichever process handles the acknowledgement
publishes ``instruction.update`` after its write.

An acknowledgement below ``FINISHED`` of an instruction an engine of this process
waits for is announced at once and written ``HELD_ACK_WRITE_S`` later, unless
``FINISHED`` comes first: the real point sends it within a millisecond, and its one
write moves the row past the held state. So no write that nobody waits for sits in
front of ``FINISHED``'s, and so of the engine's next instruction. ``FINISHED`` itself
is written before anyone hears of it; a crash before a held write leaves the row at
an earlier state, which nothing resumes from (a resumed walk waits for ``FINISHED``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid as uuid_module
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from tortoise.expressions import Subquery
from tortoise.timezone import now

from gencaster.db import retry_while_unavailable
from gencaster.distributor import GenCasterChannel, Update
from gencaster.engine.engine import BeforeSend, InstructionTimeoutError
from gencaster.metrics import INSTRUCTION_ROUND_TRIP
from gencaster.statements import update_where
from gencaster.streaming.osc import Acknowledgement, OscClient
from gencaster.supercollider import variable_code
from gencaster.tasks import TaskSet
from gencaster.throttled_log import ThrottledLog
from models import InstructionState, StreamInstruction, StreamPoint
from models.stream import INSTRUCTION_STATE_RANK

logger = logging.getLogger(__name__)

Code = str | Callable[[UUID], str]

# For each state, the states an acknowledgement of it may move an instruction out of.
_BELOW: dict[InstructionState, list[InstructionState]] = {
    state: [
        s for s in InstructionState if INSTRUCTION_STATE_RANK[s] < INSTRUCTION_STATE_RANK[state]
    ]
    for state in InstructionState
}

# The states only an acknowledgement from the point can set.
# The round trip is timed to the point's first answer and to its last.
_TIMED_STATES = frozenset({InstructionState.RECEIVED, InstructionState.FINISHED})
_ACKNOWLEDGED = frozenset(
    state.value
    for state in InstructionState
    if INSTRUCTION_STATE_RANK[state] >= INSTRUCTION_STATE_RANK[InstructionState.RECEIVED]
)

# How long an acknowledgement below FINISHED of an awaited instruction waits for
# FINISHED to make its own write unnecessary (the real point answers within 1 ms).
HELD_ACK_WRITE_S = 0.1


@dataclass
class _HeldAcknowledgement:
    """An acknowledgement announced and not yet written (see the module's docstring)."""

    state: InstructionState
    return_value: str | None
    return_value_replaced: bool
    modified: datetime
    timer: asyncio.TimerHandle


class InstructionTimeout(InstructionTimeoutError):
    """No ``FINISHED`` arrived in time: the code failed at run time, or the point is gone.

    A subclass of the engine's ``InstructionTimeoutError``, so the engine logs the cell
    as failed and walks on.
    """

    def __init__(self, instruction_uuid: UUID, waited: float, reason: str = "") -> None:
        self.instruction_uuid = instruction_uuid
        self.waited = waited
        detail = reason or f"no FINISHED within {waited:g} s"
        super().__init__(f"Instruction {instruction_uuid}: {detail}")

    def __repr__(self) -> str:
        return f"InstructionTimeout({self.instruction_uuid!r}, waited={self.waited!r})"


class PendingInstruction:
    """A sent instruction whose acknowledgements are being listened to (the engine's protocol)."""

    instruction: StreamInstruction

    def __init__(
        self, instruction_uuid: UUID, updates: AsyncIterator[Update], host: str = ""
    ) -> None:
        self.instruction_uuid = instruction_uuid
        self.host = host  # the point's address: only it may acknowledge the instruction
        self._updates = updates
        self._finished_here: tuple[str, datetime] | None = None
        self._sent_at = time.monotonic()
        self._seen: set[str] = set()

    def _observe(self, state: object) -> None:
        """Time the round trip to each acknowledgement state, once per state."""
        if state in _TIMED_STATES and state not in self._seen:
            self._seen.add(str(state))
            elapsed = time.monotonic() - self._sent_at
            INSTRUCTION_ROUND_TRIP.labels(until=str(state).lower()).observe(elapsed)

    async def finished(self, timeout: float) -> StreamInstruction:
        """The row once it is ``FINISHED``; ``InstructionTimeout`` after ``timeout`` seconds."""
        reason = ""
        try:
            async with asyncio.timeout(timeout):
                async for update in self._updates:
                    self._observe(update.data.get("state"))
                    if update.data.get("state") == InstructionState.FINISHED:
                        return await self._finished_row()
                    if update.is_resync:  # an acknowledgement may have been lost meanwhile
                        row = await self._reload()
                        if row.state == InstructionState.FINISHED:
                            return row
            reason = "the broker closed the subscription"
        except TimeoutError:
            pass
        # Pub/sub is not durable (e.g. a Redis reconnect): the database has the last word.
        row = await self._reload()
        if row.state == InstructionState.FINISHED:
            return row
        raise InstructionTimeout(self.instruction_uuid, timeout, reason)

    async def acknowledged(self) -> bool:
        """Wait until the point acknowledges at all (``RECEIVED`` or later).

        False when the subscription ended first; bound it with a timeout.
        """
        async for update in self._updates:
            state = update.data.get("state")
            self._observe(state)
            if state in _ACKNOWLEDGED:
                return True
        return False

    def finish_here(self, return_value: str, modified_date: datetime) -> None:
        """This process wrote FINISHED with a return value: the row's final values are known.

        FINISHED is the last state, so nothing can change the row after that write; the
        waiter can skip reading it back (the embedded set-up, where the OSC server and
        the engine share a process, saves a query per instruction).
        """
        self._finished_here = (return_value, modified_date)

    async def _finished_row(self) -> StreamInstruction:
        if self._finished_here is None:
            return await self._reload()
        row = copy.copy(self.instruction)  # the sent object may still be on its way to listeners
        row.state = InstructionState.FINISHED
        row.return_value, row.modified_date = self._finished_here
        return row

    async def _reload(self) -> StreamInstruction:
        return await StreamInstruction.get(uuid=self.instruction_uuid)


class InstructionDispatcher:
    def __init__(self, *, osc: OscClient, channel: GenCasterChannel) -> None:
        self._osc = osc
        self._channel = channel
        self._waiting: dict[UUID, PendingInstruction] = {}
        self._sending: set[asyncio.Future[StreamInstruction]] = set()  # rows being written
        self._held: dict[UUID, _HeldAcknowledgement] = {}
        self._held_writes = TaskSet()
        # Each dispatcher has its own budget: one server's flood cannot mute another's log.
        self._unknown_log = ThrottledLog(logger, "acknowledgements for unknown instructions")

    async def send(
        self, point: StreamPoint, code: Code, *, manual_finish: bool = False
    ) -> StreamInstruction:
        """Record the instruction as ``SENT``, then send it; nobody waits for its answer."""
        return await self._send(point, uuid_module.uuid4(), code, manual_finish)

    @asynccontextmanager
    async def pending(
        self,
        point: StreamPoint,
        code: Code,
        *,
        manual_finish: bool = False,
        before_send: BeforeSend | None = None,
    ) -> AsyncIterator[PendingInstruction]:
        """Send an instruction while listening to its channel; the block may await FINISHED.

        ``code`` may be a function of the instruction's uuid (synchronous playback names
        its own instruction in the code it runs). ``before_send`` is awaited with that
        uuid before the row is written: a walk records (fenced) what it is about to send.
        """
        instruction_uuid = uuid_module.uuid4()
        channel = self._channel.instruction_channel(instruction_uuid)
        # Subscribed before the row exists, so no acknowledgement can be missed.
        async with self._channel.subscribe(channel) as updates, aclosing(updates) as owned:  # type: ignore[type-var]
            pending = PendingInstruction(instruction_uuid, owned, point.host)
            self._waiting[instruction_uuid] = pending
            try:
                if before_send is not None:
                    await before_send(instruction_uuid)
                pending.instruction = await self._send(point, instruction_uuid, code, manual_finish)
                yield pending
            finally:
                del self._waiting[instruction_uuid]

    async def send_and_wait(
        self,
        point: StreamPoint,
        code: Code,
        *,
        manual_finish: bool = False,
        timeout: float,
        before_send: BeforeSend | None = None,
    ) -> StreamInstruction:
        """Send, and return the row once ``FINISHED``; ``InstructionTimeout`` after ``timeout``."""
        async with self.pending(
            point, code, manual_finish=manual_finish, before_send=before_send
        ) as pending:
            return await pending.finished(timeout)

    async def follow(self, instruction_uuid: UUID, timeout: float) -> StreamInstruction | None:
        """Wait for ``FINISHED`` of an instruction sent earlier, perhaps by another process.

        ``None`` when no such instruction was ever recorded (so it never went out);
        ``InstructionTimeout`` after ``timeout`` seconds without ``FINISHED``.
        """
        channel = self._channel.instruction_channel(instruction_uuid)
        async with self._channel.subscribe(channel) as updates, aclosing(updates) as owned:  # type: ignore[type-var]
            row = await StreamInstruction.get_or_none(uuid=instruction_uuid)
            if row is None or row.state == InstructionState.FINISHED:
                return row
            return await PendingInstruction(instruction_uuid, owned).finished(timeout)

    async def acknowledge(self, ack: Acknowledgement, host: str) -> None:
        """Move the instruction forward to ``ack.status``; never backwards, never twice.

        Only the host the instruction was sent to may acknowledge it: its uuid is no
        secret (listeners see it), so an acknowledgement from anywhere else is ignored.
        """
        try:
            state = InstructionState(ack.status)
        except ValueError:
            logger.debug("Acknowledgement %s for %s is no instruction state", ack.status, ack.uuid)
            return
        waiting = self._waiting.get(ack.uuid)
        if waiting is not None:
            await self._acknowledge_awaited(waiting, ack, state, host)
            return
        modified = now()
        changes: dict[str, Any] = {"state": state, "modified_date": modified}
        if ack.return_value is not None:
            changes["return_value"] = ack.return_value
        points_there = StreamPoint.filter(host=host).values("uuid")
        forward = StreamInstruction.filter(
            uuid=ack.uuid, state__in=_BELOW[state], stream_point_id__in=Subquery(points_there)
        )
        # The point will not say it again, and an engine may be waiting for it: an
        # outage delays the write (which only moves forward, so repeating it is safe).
        changed = await retry_while_unavailable(
            partial(forward.update, **changes),
            what=f"record {state.value} of instruction {ack.uuid}",
        )
        if changed:
            if ack.return_value_replaced:
                _log_replaced(ack.uuid)
            await self._channel.publish_instruction_update(ack.uuid, state.value)
        elif not await StreamInstruction.exists(uuid=ack.uuid):
            self._unknown_log.log(
                logging.WARNING, "Ignored %s for unknown instruction %s", state.value, ack.uuid
            )
        elif not await StreamInstruction.exists(
            uuid=ack.uuid, stream_point_id__in=Subquery(points_there)
        ):
            self._log_sent_elsewhere(ack, state, host)

    def _log_sent_elsewhere(self, ack: Acknowledgement, state: InstructionState, host: str) -> None:
        self._unknown_log.log(
            logging.WARNING,
            "Ignored %s for instruction %s from %s: it was sent elsewhere",
            state.value,
            ack.uuid,
            host,
        )

    async def _acknowledge_awaited(
        self, waiting: PendingInstruction, ack: Acknowledgement, state: InstructionState, host: str
    ) -> None:
        """An instruction this process sent and waits for: its row and point are known."""
        if host != waiting.host:
            self._log_sent_elsewhere(ack, state, host)
            return
        if state is not InstructionState.FINISHED:
            await self._hold(ack, state)
            return
        held = self._held.pop(ack.uuid, None)
        if held is not None:
            held.timer.cancel()  # FINISHED moves the row past it
        return_value = ack.return_value
        if return_value is None and held is not None:
            return_value = held.return_value
        modified = now()
        if await self._move_forward(ack.uuid, state, modified, return_value):
            if ack.return_value_replaced or (held is not None and held.return_value_replaced):
                _log_replaced(ack.uuid)
            if return_value is not None:
                waiting.finish_here(return_value, modified)
            await self._channel.publish_instruction_update(ack.uuid, state.value)

    async def _hold(self, ack: Acknowledgement, state: InstructionState) -> None:
        """Announce the state now and write it later, unless FINISHED overtakes it."""
        held = self._held.get(ack.uuid)
        if held is not None and INSTRUCTION_STATE_RANK[held.state] >= INSTRUCTION_STATE_RANK[state]:
            return  # a repeated or late acknowledgement: nothing new
        return_value, replaced = ack.return_value, ack.return_value_replaced
        if held is None:
            timer = asyncio.get_running_loop().call_later(
                HELD_ACK_WRITE_S, self._write_held, ack.uuid
            )
        else:
            timer = held.timer
            if return_value is None:
                return_value, replaced = held.return_value, held.return_value_replaced
        self._held[ack.uuid] = _HeldAcknowledgement(
            state=state,
            return_value=return_value,
            return_value_replaced=replaced,
            modified=now(),
            timer=timer,
        )
        await self._channel.publish_instruction_update(ack.uuid, state.value)

    def _write_held(self, instruction_uuid: UUID) -> None:
        held = self._held.pop(instruction_uuid, None)
        if held is not None:
            write = self._write_held_now(instruction_uuid, held)
            self._held_writes.start(write, name=f"held-ack-{instruction_uuid}")

    async def _write_held_now(self, instruction_uuid: UUID, held: _HeldAcknowledgement) -> None:
        changed = await self._move_forward(
            instruction_uuid, held.state, held.modified, held.return_value
        )
        if changed and held.return_value_replaced:
            _log_replaced(instruction_uuid)

    async def _move_forward(
        self,
        instruction_uuid: UUID,
        state: InstructionState,
        modified: datetime,
        return_value: str | None,
    ) -> int:
        """The forward-only write of an instruction whose point has been checked already."""
        changes: dict[str, Any] = {"state": state, "modified_date": modified}
        if return_value is not None:
            changes["return_value"] = return_value
        where = {"uuid": instruction_uuid, "state": _BELOW[state]}
        return await retry_while_unavailable(
            partial(update_where, StreamInstruction, changes, where),
            what=f"record {state.value} of instruction {instruction_uuid}",
        )

    async def send_variable(self, point: StreamPoint, key: str, value: float) -> StreamInstruction:
        """Set the ``Ndef`` named ``key`` to ``value``; refuses anything but a name and a number."""
        return await self.send(point, variable_code(key, value))

    async def _send(
        self, point: StreamPoint, instruction_uuid: UUID, code: Code, manual_finish: bool
    ) -> StreamInstruction:
        text = code(instruction_uuid) if callable(code) else code
        if "\0" in text:
            raise ValueError("instruction code must not contain NUL characters")
        # Shielded: a row that says SENT must mean the datagram left. A caller cancelled
        # while the row is written (its last listener left, its run let the walk go)
        # would otherwise leave a SENT row behind with nothing sent, and a run resuming
        # the walk would wait for that instruction until its timeout.
        sending = asyncio.ensure_future(
            self._record_and_send(point, instruction_uuid, text, manual_finish)
        )
        sending.add_done_callback(_retrieved)
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        return await asyncio.shield(sending)

    async def settled(self) -> None:
        """Return once every send under way has written its row and left.

        A run letting a walk go waits for this before another process may take it:
        that process must find the row of an instruction that leaves, or it would
        run the cell again.
        """
        if self._sending:
            await asyncio.wait(set(self._sending))

    async def _record_and_send(
        self, point: StreamPoint, instruction_uuid: UUID, text: str, manual_finish: bool
    ) -> StreamInstruction:
        instruction = await StreamInstruction.create(
            uuid=instruction_uuid,
            stream_point=point,
            instruction_text=text,
            state=InstructionState.SENT,
        )
        try:
            self._osc.send_instruction(
                point.host, point.port, str(instruction_uuid), text, manual_finish
            )
        except (ValueError, TypeError, RuntimeError):
            # Nothing left: a row that says SENT must not outlive a datagram that never went.
            await StreamInstruction.filter(uuid=instruction_uuid).delete()
            raise
        return instruction


def _log_replaced(instruction_uuid: UUID) -> None:
    logger.info(
        "The return value of instruction %s was not UTF-8; undecodable bytes were stored as U+FFFD",
        instruction_uuid,
    )


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Mark the send's error as seen: its caller has it, unless it was cancelled first."""
    if not task.cancelled() and task.exception() is not None:
        logger.debug("Sending an instruction failed: %r", task.exception())
