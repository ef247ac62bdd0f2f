"""The story-graph engine: walks one graph for one stream and says what happens.

``Engine.run()`` is an async generator of ``EngineEvent``s: each instruction it
sends to the stream point, each dialog a Python cell shows, and the dead end
that ends the walk. It knows nothing of GraphQL or sockets; the listening layer
turns its events into ``StreamInfo``/``Dialog``/``GraphDeadEnd`` for listeners.

Per node: the script cells run in order, then a blocking node holds the stream,
otherwise the OUTPUT doors are evaluated in order (non-default first) and one
edge of the winning door is followed at random.

All randomness of one walk (edge choice, ``random`` in cells and doors) comes from
the engine's one generator: seeded from ``os.urandom`` for listeners, from a given
seed for ``gencaster play``. Edges are chosen from a list in a stable order that
does not depend on uuids, so a re-imported graph walks the same way. An
``EngineObserver`` hears each step (the dry run prints them); the engine counts
visits per node for ``visits("Node name")``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from gencaster.engine.frontend import Dialog
from gencaster.engine.markdown import render_ssml
from gencaster.engine.sandbox import (
    Budget,
    CellContext,
    Meter,
    SandboxError,
    evaluate_expression,
    execute_statements,
    is_blank,
    run_cell,
)
from gencaster.engine.visits import StreamVisits, VisitLedger
from gencaster.errors import BadUserInput
from gencaster.supercollider import async_playback, sync_playback
from gencaster.tasks import TaskSet
from gencaster.text import clip
from models import (
    AudioCell,
    AudioFile,
    CellType,
    DoorType,
    Edge,
    Graph,
    InstructionState,
    LogLevel,
    Node,
    NodeDoor,
    PlaybackChoices,
    ScriptCell,
    Stream,
    StreamInstruction,
    StreamPoint,
)

logger = logging.getLogger(__name__)

# Events ----------------------------------------------------------------------


@dataclass(frozen=True)
class InstructionSent:
    instruction: StreamInstruction


@dataclass(frozen=True)
class DialogShown:
    dialog: Dialog


@dataclass(frozen=True)
class DeadEnd:
    reason: str


@dataclass(frozen=True)
class ResetOutcome:
    """How the clean slate before a stream's first listener went (for the stream's log)."""

    confirmed: bool  # a probe sent after the reset was answered: the point receives again
    reset_finished: bool  # the reset's own FINISHED arrived
    probes: int
    waited_s: float

    def describe(self) -> str:
        took = f"{self.waited_s * 1000:.0f} ms, {self.probes} probe(s)"
        if self.confirmed:
            return f"Stream point reset and ready ({took})"
        return f"Stream point did not confirm its reset; going on ({took})"


EngineEvent = InstructionSent | DialogShown | DeadEnd


# What the engine needs from the streaming layer ---------------------------------


class PendingInstruction(Protocol):
    instruction: StreamInstruction

    async def finished(self, timeout: float) -> StreamInstruction: ...


BeforeSend = Callable[[UUID], Awaitable[None]]


class Instructions(Protocol):
    def pending(
        self,
        point: StreamPoint,
        code: str | Callable[[UUID], str],
        *,
        manual_finish: bool = False,
        before_send: BeforeSend | None = None,
    ) -> AbstractAsyncContextManager[PendingInstruction]:
        """Create and send an instruction; the block may wait for its FINISHED.

        ``before_send`` is awaited with the new instruction's uuid before anything is
        written or sent; what it raises stops the sending.
        """
        ...


class WalkLost(Exception):
    """Another run has taken this stream's walk over: this run must stop, sending nothing."""


@dataclass(frozen=True)
class WalkPosition:
    """Where a walk stood when a run took it: the node, how many of its cells are done,
    the instruction the next cell had already sent, and the generator's state."""

    node_uuid: UUID | None = None
    cell_index: int = 0
    instruction_uuid: UUID | None = None
    steps: int = 0
    rng_state: Any = None


class Walk(Protocol):
    """The walk saved as it goes, owned by one run; each write raises ``WalkLost`` once
    another run took it over."""

    position: WalkPosition

    async def reset_done(self) -> None: ...

    async def entered(
        self, node_uuid: UUID, steps: int, rng: random.Random, visits: dict[str, int]
    ) -> None: ...

    async def sending(self, instruction_uuid: UUID) -> None: ...

    async def cell_done(self, next_index: int, rng: random.Random) -> None: ...

    async def guard(self) -> None:
        """Raise ``WalkLost`` if the walk is no longer this run's (before other writes)."""
        ...

    async def settle(self, instruction_uuid: UUID, timeout: float) -> bool:
        """Wait for an instruction an earlier run sent; False when it was never sent."""
        ...

    async def ended(self) -> None: ...


class PointReset(Protocol):
    async def __call__(self, point: StreamPoint) -> ResetOutcome:
        """Send the clean slate and return once it has taken effect (or a bound passed)."""
        ...


class VariableStore(Protocol):
    """A stream's variables (``StreamVariables``, or a dry run's in memory)."""

    async def load(self) -> dict[str, str]: ...

    async def wait_for(self, name: str, timeout: float = 60.0) -> str | None: ...

    async def save_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None: ...


class StreamLog(Protocol):
    async def log(
        self,
        message: str,
        *,
        level: LogLevel = ...,
        stream: Stream | UUID | None = ...,
        stream_point: StreamPoint | UUID | None = ...,
        origin: str = ...,
        name: str | None = ...,
        retry: bool = ...,
    ) -> object: ...


class Speech(Protocol):
    async def speak(self, ssml: str, voice: str = "default") -> AudioFile: ...


class Media(Protocol):
    def sc_path_of(self, audio_file: AudioFile) -> str: ...


@dataclass
class EngineServices:
    instructions: Instructions
    logs: StreamLog
    media: Media
    variables: Callable[[Stream], VariableStore]
    reset: PointReset
    speech: Speech | None = None
    instruction_timeout: float = 300.0
    instruction_warning: float = 5.0
    step_limit: int = 10_000
    visits: Callable[[Stream], VisitLedger] = StreamVisits


class EngineObserver:
    """Hears each step of a walk; the default hears nothing and holds blocking nodes forever."""

    def node_entered(self, node: Node, visits: int) -> None: ...

    def cell_started(self, node: Node, cell: ScriptCell) -> None: ...

    def cell_failed(self, cell: ScriptCell, error: str) -> None: ...

    def door_evaluated(self, door: NodeDoor, result: object) -> None: ...

    def door_chosen(self, door: NodeDoor) -> None: ...

    def edge_taken(self, edge: Edge, node: Node) -> None: ...

    async def hold(self, node: Node) -> bool:
        """A blocking node holds the stream until the listener leaves; False ends the walk."""
        await asyncio.Event().wait()
        return False


def new_rng(seed: int | None = None) -> random.Random:
    """The walk's one generator: seeded when given, else from ``os.urandom``."""
    return random.Random(int.from_bytes(os.urandom(16)) if seed is None else seed)


class InstructionTimeoutError(Exception):
    """No FINISHED arrived in time (the stream point failed or is gone)."""


# The sandbox runner used by markdown ``python`` tokens --------------------------


class SandboxRunner:
    """Runs the ``python`` tokens of one markdown cell: they share one step budget, so a
    cell with many tokens cannot buy more work than a single Python cell."""

    def __init__(
        self,
        rng: random.Random | None = None,
        visits: Callable[[str], int] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.rng = rng
        self.visits = visits
        self.meter = Meter(budget or Budget())

    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        return evaluate_expression(
            code, variables, rng=self.rng, visits=self.visits, meter=self.meter
        )

    def execute(self, code: str, variables: dict[str, str]) -> None:
        execute_statements(code, variables, rng=self.rng, visits=self.visits, meter=self.meter)


class Engine:
    def __init__(
        self,
        *,
        graph: Graph,
        stream: Stream,
        point: StreamPoint,
        services: EngineServices,
        clean_slate: bool,
        rng: random.Random | None = None,
        observer: EngineObserver | None = None,
        walk: Walk | None = None,
    ) -> None:
        self.graph = graph
        self.stream = stream
        self.point = point
        self.services = services
        self.clean_slate = clean_slate
        self.variables = services.variables(stream)
        self.visits = services.visits(stream)
        self.rng = rng if rng is not None else new_rng()
        self.observer = observer if observer is not None else EngineObserver()
        self.walk = walk
        self._nodes_by_name: dict[str, list[UUID]] = {}
        self._counts: dict[str, int] = {}
        self._prints = TaskSet()
        self.ended = False

    def end(self) -> None:
        """The stream is over: from now on nothing of this run reaches its stream point.

        Called before the run's task is cancelled, so even code that ignored the
        cancellation cannot send to a point that another stream may already use.
        """
        self.ended = True

    async def log(
        self, message: str, level: LogLevel = LogLevel.INFO, *, retry: bool = False
    ) -> None:
        """Write to the stream's log; ``retry`` for a record nobody waits for (see logs)."""
        await self.services.logs.log(
            message,
            level=level,
            stream=self.stream,
            stream_point=self.point,
            origin="graph_engine",
            name="gencaster.engine",
            retry=retry,
        )

    async def run(self) -> AsyncGenerator[EngineEvent, None]:
        if self.clean_slate:  # internal: listeners are not shown the reset or its probes
            outcome = await self.services.reset(self.point)
            level = LogLevel.INFO if outcome.confirmed else LogLevel.WARNING
            await self.log(outcome.describe(), level)
            if self.walk is not None:
                await self.walk.reset_done()
        await self._load_visits()
        node, position = await self._starting_point()
        steps = position.steps
        while node is not None and not self.ended:
            if position.node_uuid is None:  # a fresh entry, not a resumed one
                steps += 1
                if steps > self.services.step_limit:
                    await self.log(
                        f"Step limit of {self.services.step_limit} reached", LogLevel.ERROR
                    )
                    await self._walk_ended()
                    yield DeadEnd("The story took too many steps")
                    return
                await self.log(f"Entered node {node.name!r} ({node.uuid})")
                await self._count_visit(node, steps)
            async with aclosing(self.run_node(node, position)) as events:
                async for event in events:
                    yield event
            position = WalkPosition()
            if node.is_blocking_node:
                await self.log(f"Node {node.name!r} blocks: the stream stays here")
                if not await self.observer.hold(node):
                    return
            node = await self.next_node(node)
        if not self.ended:
            await self._walk_ended()
        await self.log("Dead end: no edge leads on")  # the normal end of a story
        yield DeadEnd("The story has reached its end")

    async def _starting_point(self) -> tuple[Node | None, WalkPosition]:
        """The node to walk first: where a saved walk stood, else the entry node."""
        position = self.walk.position if self.walk is not None else WalkPosition()
        if position.node_uuid is not None:
            node = await Node.get_or_none(uuid=position.node_uuid, graph_id=self.graph.uuid)
            if node is not None:
                if position.rng_state is not None:
                    self.rng.setstate(_rng_state(position.rng_state))
                await self.log(
                    f"Resumed the walk at node {node.name!r} ({node.uuid}), "
                    f"after {position.cell_index} cell(s)"
                )
                return node, position
        node = await Node.get_or_none(graph_id=self.graph.uuid, is_entry_node=True)
        return node, WalkPosition(steps=position.steps if position.node_uuid is None else 0)

    async def _walk_ended(self) -> None:
        if self.walk is not None:
            await self.walk.ended()

    # Visits ---------------------------------------------------------------------

    async def _load_visits(self) -> None:
        nodes = await Node.filter(graph_id=self.graph.uuid).values_list("uuid", "name")
        for uuid, name in nodes:
            self._nodes_by_name.setdefault(name, []).append(uuid)
        self._counts = await self.visits.load()

    async def _count_visit(self, node: Node, steps: int) -> None:
        key = str(node.uuid)
        self._counts[key] = self._counts.get(key, 0) + 1
        self.observer.node_entered(node, self._counts[key])
        if self.walk is not None:  # the walk's position and the counts, fenced together
            await self.walk.entered(node.uuid, steps, self.rng, self._counts)
        else:
            await self.visits.save(self._counts)

    def count_visits(self, name: str) -> int:
        """``visits(name)`` in cells and doors: entries into every node of that name."""
        return sum(self._counts.get(str(uuid), 0) for uuid in self._nodes_by_name.get(name, ()))

    # Cells ----------------------------------------------------------------------

    async def run_node(
        self, node: Node, position: WalkPosition | None = None
    ) -> AsyncGenerator[EngineEvent, None]:
        """The node's cells in order; a resumed walk starts at its first cell not yet done."""
        start = position.cell_index if position is not None else 0
        sent = position.instruction_uuid if position is not None else None
        cells = await ScriptCell.of_nodes([node.uuid])
        for index, cell in enumerate(cells):
            if index < start:
                continue
            self.observer.cell_started(node, cell)
            try:
                if index == start and sent is not None and await self._settle(sent):
                    pass  # the cell's instruction went out before the takeover: not again
                else:
                    async with aclosing(self.run_cell(cell)) as events:
                        async for event in events:
                            yield event
            except WalkLost:
                raise
            except (SandboxError, InstructionTimeoutError, BadUserInput) as error:
                # The author's mistake (a refused variable is one): the stream log says
                # what was refused; no traceback for the operator.
                message = clip(str(error))
                self.observer.cell_failed(cell, message)
                await self.log(f"Cell {cell.uuid} failed: {message}", LogLevel.ERROR)
            except Exception as error:  # a broken cell must not end the walk
                logger.exception("Cell %s failed", cell.uuid)
                self.observer.cell_failed(cell, type(error).__name__)
                await self.log(f"Cell {cell.uuid} failed: {type(error).__name__}", LogLevel.ERROR)
            if self.walk is not None:
                await self.walk.cell_done(index + 1, self.rng)

    async def _settle(self, instruction_uuid: UUID) -> bool:
        """Wait for the instruction a lost run sent; False when it never went out."""
        assert self.walk is not None
        return await self.walk.settle(instruction_uuid, self.services.instruction_timeout)

    def run_cell(self, cell: ScriptCell) -> AsyncGenerator[EngineEvent, None]:
        runners = {
            CellType.SUPERCOLLIDER: self.run_supercollider,
            CellType.PYTHON: self.run_python,
            CellType.MARKDOWN: self.run_markdown,
            CellType.AUDIO: self.run_audio,
        }
        runner = runners.get(cell.cell_type)
        return runner(cell) if runner is not None else _nothing()

    async def run_supercollider(self, cell: ScriptCell) -> AsyncGenerator[EngineEvent, None]:
        async for event in self.play(cell.cell_code, wait=True):
            yield event

    async def play(
        self, code: str | Callable[[UUID], str], *, wait: bool, manual_finish: bool = False
    ) -> AsyncGenerator[EngineEvent, None]:
        if self.ended:
            raise asyncio.CancelledError("the stream has ended")
        instructions = self.services.instructions
        before_send = self.walk.sending if self.walk is not None else None
        async with instructions.pending(
            self.point, code, manual_finish=manual_finish, before_send=before_send
        ) as pending:
            yield InstructionSent(pending.instruction)
            if wait:
                await self._wait_finished(pending)

    async def _wait_finished(self, pending: PendingInstruction) -> None:
        """Wait for FINISHED; tell the stream's log early when it is slow to come.

        A run-time error in SuperCollider code answers RECEIVED and never FINISHED,
        so without the warning editors would learn of it only at the timeout.
        """
        timeout = self.services.instruction_timeout
        warn_after = self.services.instruction_warning
        finished = asyncio.ensure_future(pending.finished(timeout))
        try:
            if 0 < warn_after < timeout:
                done, _ = await asyncio.wait({finished}, timeout=warn_after)
                if not done:
                    await self._log_still_waiting(pending, warn_after, timeout)
            await finished
        finally:
            # Leave only once the waiter has stopped: the pending block closes the
            # acknowledgement feed it may still be reading.
            finished.cancel()
            await asyncio.wait({finished})

    async def _log_still_waiting(
        self, pending: PendingInstruction, waited: float, timeout: float
    ) -> None:
        instruction = pending.instruction
        row = await StreamInstruction.get_or_none(uuid=instruction.uuid)
        state = row.state if row is not None else instruction.state
        hint = (
            "the code may have failed on the stream point"
            if state == InstructionState.RECEIVED
            else "the stream point has not acknowledged it"
        )
        await self.log(
            f"Instruction {instruction.uuid} still waits for FINISHED after {waited:g} s "
            f"(state {state}: {hint}); the cell gives up after {timeout:g} s",
            LogLevel.WARNING,
        )

    async def run_python(self, cell: ScriptCell) -> AsyncGenerator[EngineEvent, None]:
        values = await self.variables.load()
        before = dict(values)
        context = CellContext(
            variables=values,
            wait_for_stream_variable=self.variables.wait_for,
            log=self._print,
            rng=self.rng,
            visits=self.count_visits,
        )
        try:
            async with aclosing(run_cell(cell.cell_code, context)) as dialogs:
                async for dialog in dialogs:
                    yield DialogShown(dialog)
        finally:
            await self._guard()
            await self.variables.save_changes(before, values)

    async def _guard(self) -> None:
        if self.walk is not None:
            await self.walk.guard()

    def _print(self, text: str) -> None:
        """``print`` in a cell is synchronous; its log entry is written in the background."""
        entry = self.log(text, LogLevel.INFO, retry=True)
        self._prints.start(entry, name=f"print-{self.stream.uuid}")

    async def run_markdown(self, cell: ScriptCell) -> AsyncGenerator[EngineEvent, None]:
        speech = self.services.speech
        values = await self.variables.load()
        result = await asyncio.to_thread(
            render_ssml,
            cell.cell_code,
            variables=values,
            runner=SandboxRunner(self.rng, self.count_visits),
        )
        for warning in result.warnings:
            await self.log(f"Markdown cell {cell.uuid}: {warning}", LogLevel.WARNING)
        await self._guard()
        await self.variables.save_changes(values, result.variables)
        if speech is None:
            await self.log("Speech synthesis is not configured; markdown skipped", LogLevel.WARNING)
            return
        audio_file = await speech.speak(result.ssml)
        async for event in self.play_file(audio_file, PlaybackChoices.SYNC_PLAYBACK):
            yield event

    async def run_audio(self, cell: ScriptCell) -> AsyncGenerator[EngineEvent, None]:
        audio_cell = await AudioCell.get_or_none(uuid=cell.audio_cell_id)
        if audio_cell is None:
            await self.log(f"Audio cell {cell.uuid} has no audio file", LogLevel.ERROR)
            return
        audio_file = await AudioFile.get(uuid=audio_cell.audio_file_id)
        async for event in self.play_file(audio_file, audio_cell.playback):
            yield event

    async def play_file(
        self, audio_file: AudioFile, playback: PlaybackChoices
    ) -> AsyncGenerator[EngineEvent, None]:
        sc_path = self.services.media.sc_path_of(audio_file)
        if playback == PlaybackChoices.ASYNC_PLAYBACK:
            events = self.play(async_playback(sc_path), wait=False)
        else:
            code = lambda uuid: sync_playback(sc_path, uuid)  # noqa: E731 - needs the new uuid
            events = self.play(code, wait=True, manual_finish=True)
        async with aclosing(events) as played:
            async for event in played:
                yield event

    # Doors and edges ------------------------------------------------------------

    async def next_node(self, node: Node) -> Node | None:
        doors = await NodeDoor.filter(node_id=node.uuid, door_type=DoorType.OUTPUT)
        doors.sort(key=NodeDoor.sort_key)
        chosen = await self.choose_door(doors)
        if chosen is None:
            return None
        edges = await edges_from(chosen)
        if not edges and not chosen.is_default:
            default = next((door for door in doors if door.is_default), None)
            edges = await edges_from(default) if default else []
        if not edges:
            return None
        edge = self.rng.choice(edges)
        target = edge.in_node_door.node
        self.observer.edge_taken(edge, target)
        return target

    async def choose_door(self, doors: list[NodeDoor]) -> NodeDoor | None:
        values = await self.variables.load()
        for door in doors:
            if door.is_default or is_blank(door.code):
                continue  # a door without code never opens
            try:
                result = await asyncio.to_thread(
                    evaluate_expression,
                    door.code,
                    dict(values),
                    rng=self.rng,
                    visits=self.count_visits,
                )
            except SandboxError as error:
                self.observer.door_evaluated(door, error)
                await self.log(f"Door {door.name!r} failed: {error}", LogLevel.WARNING)
                continue
            self.observer.door_evaluated(door, result)
            if result is True:
                await self.log(f"Door {door.name!r} chosen")
                self.observer.door_chosen(door)
                return door
        default = next((door for door in doors if door.is_default), None)
        if default is not None:
            self.observer.door_chosen(default)
        return default


def edge_order(edge: Edge) -> tuple[str, int, str, float, float, str]:
    """Edges by where they lead, by names and positions first: a re-imported graph (new
    uuids) lists them in the same order, so the same seed picks the same edge."""
    door, node = edge.in_node_door, edge.in_node_door.node
    return (node.name, door.order, door.name, node.position_x, node.position_y, str(edge.uuid))


async def edges_from(door: NodeDoor) -> list[Edge]:
    edges = await Edge.filter(out_node_door_id=door.uuid).prefetch_related("in_node_door__node")
    return sorted(edges, key=edge_order)


def rng_state_of(rng: random.Random) -> list[Any]:
    """The generator's state as JSON: ``[version, [625 ints], gauss_next]``."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_state(saved: Any) -> tuple[Any, ...]:
    version, internal, gauss = saved
    return (version, tuple(internal), gauss)


async def _nothing() -> AsyncGenerator[EngineEvent, None]:
    return
    yield  # pragma: no cover - makes this an async generator


__all__ = [
    "DeadEnd",
    "DialogShown",
    "Engine",
    "EngineEvent",
    "EngineObserver",
    "EngineServices",
    "InstructionSent",
    "InstructionTimeoutError",
    "PointReset",
    "ResetOutcome",
    "Walk",
    "WalkLost",
    "WalkPosition",
    "edge_order",
    "new_rng",
    "rng_state_of",
]
