"""The story-graph engine: walks one graph for one stream and says what happens.

``Engine.run()`` is an async generator of ``EngineEvent``s: each instruction it
sends to the stream point, each dialog a Python cell shows, and the dead end
that ends the walk. It knows nothing of GraphQL or sockets; the listening layer
turns its events into ``StreamInfo``/``Dialog``/``GraphDeadEnd`` for listeners.

Per node: the script cells run in order, then a blocking node holds the stream,
otherwise the OUTPUT doors are evaluated in order (non-default first) and one
edge of the winning door is followed at random.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from gencaster.engine.frontend import Dialog
from gencaster.engine.markdown import render_ssml
from gencaster.engine.sandbox import (
    CellContext,
    SandboxError,
    evaluate_expression,
    execute_statements,
    run_cell,
)
from gencaster.engine.variables import StreamVariables
from models import (
    AudioCell,
    AudioFile,
    CellType,
    DoorType,
    Edge,
    Graph,
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

CLEAN_SLATE = "0.01.wait;CmdPeriod.run;0.01.wait;"


def async_playback(sc_path: str) -> str:
    return f'{{g.playBuffer("{sc_path}")}}'


def sync_playback(sc_path: str, instruction_uuid: UUID | str) -> str:
    return f'{{g.syncPlayBuffer("{sc_path}", "{instruction_uuid}")}}'


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


EngineEvent = InstructionSent | DialogShown | DeadEnd


# What the engine needs from the streaming layer ---------------------------------


class PendingInstruction(Protocol):
    instruction: StreamInstruction

    async def finished(self, timeout: float) -> StreamInstruction: ...


class Instructions(Protocol):
    def pending(
        self, point: StreamPoint, code: str | Callable[[UUID], str], *, manual_finish: bool = False
    ) -> AbstractAsyncContextManager[PendingInstruction]:
        """Create and send an instruction; the block may wait for its FINISHED."""
        ...


class StreamLog(Protocol):
    async def log(self, message: str, **kwargs: Any) -> Any: ...


class Speech(Protocol):
    async def speak(self, ssml: str, voice: str = "default") -> AudioFile: ...


class Media(Protocol):
    def sc_path_of(self, audio_file: AudioFile) -> str: ...


@dataclass
class EngineServices:
    instructions: Instructions
    logs: StreamLog
    media: Media
    variables: Callable[[Stream], StreamVariables]
    speech: Speech | None = None
    instruction_timeout: float = 300.0
    step_limit: int = 10_000
    rng: random.Random = field(default_factory=random.Random)


class InstructionTimeoutError(Exception):
    """No FINISHED arrived in time (the stream point failed or is gone)."""


# The sandbox runner used by markdown ``python`` tokens --------------------------


class SandboxRunner:
    def evaluate(self, code: str, variables: dict[str, str]) -> object:
        return evaluate_expression(code, variables)

    def execute(self, code: str, variables: dict[str, str]) -> None:
        execute_statements(code, variables)


class Engine:
    def __init__(
        self,
        *,
        graph: Graph,
        stream: Stream,
        point: StreamPoint,
        services: EngineServices,
        clean_slate: bool,
    ) -> None:
        self.graph = graph
        self.stream = stream
        self.point = point
        self.services = services
        self.clean_slate = clean_slate
        self.variables = services.variables(stream)

    async def log(self, message: str, level: LogLevel = LogLevel.INFO) -> None:
        await self.services.logs.log(
            message,
            level=level,
            stream=self.stream,
            stream_point=self.point,
            origin="graph_engine",
            name="gencaster.engine",
        )

    async def run(self) -> AsyncIterator[EngineEvent]:
        if self.clean_slate:
            async with self.services.instructions.pending(self.point, CLEAN_SLATE) as pending:
                yield InstructionSent(pending.instruction)
        node = await Node.get_or_none(graph_id=self.graph.uuid, is_entry_node=True)
        steps = 0
        while node is not None:
            steps += 1
            if steps > self.services.step_limit:
                await self.log(f"Step limit of {self.services.step_limit} reached", LogLevel.ERROR)
                yield DeadEnd("The story took too many steps")
                return
            await self.log(f"Entered node {node.name!r} ({node.uuid})")
            async with aclosing(self.run_node(node)) as events:
                async for event in events:
                    yield event
            if node.is_blocking_node:
                await self.log(f"Node {node.name!r} blocks: the stream stays here")
                await asyncio.Event().wait()  # until the listener leaves
            node = await self.next_node(node)
        await self.log("Dead end: no edge leads on", LogLevel.WARNING)
        yield DeadEnd("The story has reached its end")

    # Cells ----------------------------------------------------------------------

    async def run_node(self, node: Node) -> AsyncIterator[EngineEvent]:
        cells = await ScriptCell.filter(node_id=node.uuid).order_by("cell_order", "uuid")
        for cell in cells:
            try:
                async with aclosing(self.run_cell(cell)) as events:
                    async for event in events:
                        yield event
            except (SandboxError, InstructionTimeoutError) as error:
                await self.log(f"Cell {cell.uuid} failed: {error}", LogLevel.ERROR)
            except Exception as error:  # a broken cell must not end the walk
                logger.exception("Cell %s failed", cell.uuid)
                await self.log(f"Cell {cell.uuid} failed: {type(error).__name__}", LogLevel.ERROR)

    def run_cell(self, cell: ScriptCell) -> AsyncIterator[EngineEvent]:
        runners = {
            CellType.SUPERCOLLIDER: self.run_supercollider,
            CellType.PYTHON: self.run_python,
            CellType.MARKDOWN: self.run_markdown,
            CellType.AUDIO: self.run_audio,
        }
        runner = runners.get(cell.cell_type)
        return runner(cell) if runner is not None else _nothing()

    async def run_supercollider(self, cell: ScriptCell) -> AsyncIterator[EngineEvent]:
        async for event in self.play(cell.cell_code, wait=True):
            yield event

    async def play(
        self, code: str | Callable[[UUID], str], *, wait: bool, manual_finish: bool = False
    ) -> AsyncIterator[EngineEvent]:
        instructions = self.services.instructions
        async with instructions.pending(self.point, code, manual_finish=manual_finish) as pending:
            yield InstructionSent(pending.instruction)
            if wait:
                await pending.finished(self.services.instruction_timeout)

    async def run_python(self, cell: ScriptCell) -> AsyncIterator[EngineEvent]:
        values = await self.variables.load()
        before = dict(values)
        context = CellContext(
            variables=values,
            wait_for_stream_variable=self.variables.wait_for,
            log=self._print,
        )
        try:
            async with aclosing(run_cell(cell.cell_code, context)) as dialogs:
                async for dialog in dialogs:
                    yield DialogShown(dialog)
        finally:
            await self.variables.save_changes(before, values)

    def _print(self, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self.log(text, LogLevel.INFO))
        self.variables.keep(task)

    async def run_markdown(self, cell: ScriptCell) -> AsyncIterator[EngineEvent]:
        speech = self.services.speech
        values = await self.variables.load()
        result = await asyncio.to_thread(
            render_ssml, cell.cell_code, variables=values, runner=SandboxRunner()
        )
        for warning in result.warnings:
            await self.log(f"Markdown cell {cell.uuid}: {warning}", LogLevel.WARNING)
        await self.variables.save_changes(values, result.variables)
        if speech is None:
            await self.log("Speech synthesis is not configured; markdown skipped", LogLevel.WARNING)
            return
        audio_file = await speech.speak(result.ssml)
        async for event in self.play_file(audio_file, PlaybackChoices.SYNC_PLAYBACK):
            yield event

    async def run_audio(self, cell: ScriptCell) -> AsyncIterator[EngineEvent]:
        audio_cell = await AudioCell.get_or_none(uuid=cell.audio_cell_id)
        if audio_cell is None:
            await self.log(f"Audio cell {cell.uuid} has no audio file", LogLevel.ERROR)
            return
        audio_file = await AudioFile.get(uuid=audio_cell.audio_file_id)
        async for event in self.play_file(audio_file, audio_cell.playback):
            yield event

    async def play_file(
        self, audio_file: AudioFile, playback: PlaybackChoices
    ) -> AsyncIterator[EngineEvent]:
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
        doors.sort(key=lambda door: (door.is_default, door.order, door.name))
        chosen = await self.choose_door(doors)
        if chosen is None:
            return None
        edges = await Edge.filter(out_node_door_id=chosen.uuid)
        if not edges and not chosen.is_default:
            default = next((door for door in doors if door.is_default), None)
            edges = await Edge.filter(out_node_door_id=default.uuid) if default else []
        if not edges:
            return None
        edge = self.services.rng.choice(edges)
        in_door = await NodeDoor.get(uuid=edge.in_node_door_id)
        return await Node.get(uuid=in_door.node_id)

    async def choose_door(self, doors: list[NodeDoor]) -> NodeDoor | None:
        values = await self.variables.load()
        for door in doors:
            if door.is_default:
                continue
            try:
                result = await asyncio.to_thread(evaluate_expression, door.code, dict(values))
            except SandboxError as error:
                await self.log(f"Door {door.name!r} failed: {error}", LogLevel.WARNING)
                continue
            if result is True:
                await self.log(f"Door {door.name!r} chosen")
                return door
        return next((door for door in doors if door.is_default), None)


async def _nothing() -> AsyncIterator[EngineEvent]:
    return
    yield  # pragma: no cover - makes this an async generator


__all__ = [
    "CLEAN_SLATE",
    "DeadEnd",
    "DialogShown",
    "Engine",
    "EngineEvent",
    "EngineServices",
    "InstructionSent",
    "InstructionTimeoutError",
    "async_playback",
    "sync_playback",
]
