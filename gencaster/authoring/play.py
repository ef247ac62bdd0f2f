"""``gencaster play``: a dry run of the real engine with no SuperCollider.

The engine walks the graph against an in-process stream point that acknowledges
every instruction at once, with the stream's variables, visit counts and logs
held in memory (nothing is written to the database). Dialogs are answered from
``--answer name=value``; speech is shown as SSML, not synthesised. One seeded
generator drives every random choice, and ids are masked in the output, so the
same graph, seed and answers print the same text, byte for byte, on any server.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from typing import Any
from uuid import UUID

from gencaster.engine.engine import (
    BeforeSend,
    DeadEnd,
    DialogShown,
    Engine,
    EngineObserver,
    EngineServices,
    InstructionSent,
    ResetOutcome,
)
from gencaster.engine.frontend import Checkbox, Dialog, Input, Text
from gencaster.engine.visits import MemoryVisits
from gencaster.errors import BadUserInput
from gencaster.media import MediaStore
from gencaster.stream_variables import VariableLimits, check_variable
from models import (
    AudioFile,
    Edge,
    Graph,
    InstructionState,
    LogLevel,
    Node,
    NodeDoor,
    ScriptCell,
    Stream,
    StreamInstruction,
    StreamPoint,
)

from .graphs import node_order

_IDS = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{32}"
)
_MAX_SHOWN = 2000


def shown(text: str) -> str:
    """One line, ids masked, bounded: output that is the same on every server."""
    text = _IDS.sub("<id>", str(text)).replace("\r", "").replace("\n", "\\n")
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


class Transcript:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


class _Acknowledged:
    def __init__(self, instruction: StreamInstruction) -> None:
        self.instruction = instruction

    async def finished(self, timeout: float) -> StreamInstruction:
        return self.instruction


class InstantPoint:
    """An in-process stream point: every instruction is FINISHED as soon as it is sent."""

    def pending(
        self,
        point: StreamPoint,
        code: str | Callable[[UUID], str],
        *,
        manual_finish: bool = False,
        before_send: BeforeSend | None = None,
    ) -> AbstractAsyncContextManager[_Acknowledged]:
        return self._pending(point, code, before_send)

    @asynccontextmanager
    async def _pending(
        self, point: StreamPoint, code: str | Callable[[UUID], str], before_send: BeforeSend | None
    ) -> AsyncIterator[_Acknowledged]:
        instruction_uuid = uuid.uuid4()
        if before_send is not None:
            await before_send(instruction_uuid)
        text = code(instruction_uuid) if callable(code) else code
        yield _Acknowledged(
            StreamInstruction(
                uuid=instruction_uuid,
                stream_point_id=point.uuid,
                instruction_text=text,
                state=InstructionState.FINISHED,
            )
        )


class TranscriptLog:
    """Warnings and errors of the walk; the steps themselves come from the observer."""

    _OBSERVED = ("Door ", "Cell ", "Dead end", "Entered node", "Step limit")

    def __init__(self, say: Transcript) -> None:
        self.say = say

    async def log(self, message: str, **kwargs: Any) -> None:
        level = kwargs.get("level", LogLevel.INFO)
        if level >= LogLevel.WARNING and not message.startswith(self._OBSERVED):
            self.say(f"  log: {shown(message)}")


class ShownSpeech:
    """Speech is shown as its SSML; the file it would be is named after the SSML's hash."""

    def __init__(self, say: Transcript) -> None:
        self.say = say

    async def speak(self, ssml: str, voice: str = "default") -> AudioFile:
        self.say(f"  speech ({voice}): {shown(ssml)}")
        digest = hashlib.sha256(f"{voice}\n{ssml}".encode()).hexdigest()[:16]
        return AudioFile(file_path=f"speech/{digest}.wav", name="speech", auto_generated=True)


class AnsweredVariables:
    """The stream's variables in memory; listener input comes from the given answers."""

    def __init__(self, answers: Mapping[str, str], say: Transcript, limits: VariableLimits) -> None:
        self.values: dict[str, str] = {}
        self.answers = dict(answers)
        self.say = say
        self.limits = limits

    async def load(self) -> dict[str, str]:
        return dict(self.values)

    def answer(self, key: str) -> None:
        if key in self.answers and key not in self.values:
            self.values[key] = self.answers[key]
            self.say(f"  answer {shown(key)} = {shown(repr(self.answers[key]))}")

    async def wait_for(self, name: str, timeout: float = 60.0) -> str | None:
        self.answer(name)
        value = self.values.get(name)
        shown_value = "no answer (the wait times out)" if value is None else repr(value)
        self.say(f"  wait for {shown(name)}: {shown(shown_value)}")
        return value

    async def save_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """All changes or none, refused as a real stream refuses them (``BadUserInput``)."""
        changed = {
            str(key): value if isinstance(value, str) else str(value)
            for key, value in after.items()
            if key not in before or before[key] != value
        }
        for key, text in changed.items():
            check_variable(key, text, self.limits)
        if len(self.values.keys() | changed.keys()) > self.limits.max_per_stream:
            raise BadUserInput(f"A stream holds at most {self.limits.max_per_stream} variables")
        self.values.update(changed)


class PrintingObserver(EngineObserver):
    def __init__(self, say: Transcript) -> None:
        self.say = say
        self.cell_numbers: dict[UUID, int] = {}

    def node_entered(self, node: Node, visits: int) -> None:
        self.say(f"enter {shown(repr(node.name))} (visit {visits})")
        self.cell_numbers.clear()

    def cell_started(self, node: Node, cell: ScriptCell) -> None:
        number = self.cell_numbers.setdefault(cell.uuid, len(self.cell_numbers) + 1)
        self.say(f"  cell {number} {cell.cell_type.value}")

    def cell_failed(self, cell: ScriptCell, error: str) -> None:
        self.say(f"  cell failed: {shown(error)}")

    def door_evaluated(self, door: NodeDoor, result: object) -> None:
        outcome = f"error: {result}" if isinstance(result, Exception) else repr(result)
        self.say(f"  door {shown(repr(door.name))} ({shown(door.code)}): {shown(outcome)}")

    def door_chosen(self, door: NodeDoor) -> None:
        kind = "default door" if door.is_default else "door"
        self.say(f"  take {kind} {shown(repr(door.name))}")

    def edge_taken(self, edge: Edge, node: Node) -> None:
        self.say(f"  edge to {shown(repr(node.name))}")

    async def hold(self, node: Node) -> bool:
        self.say(f"held at blocking node {shown(repr(node.name))}: a listener stays here")
        return False


async def _no_reset(point: StreamPoint) -> ResetOutcome:
    """A dry run starts from a clean slate: there is no SuperCollider to reset."""
    return ResetOutcome(confirmed=True, reset_finished=True, probes=0, waited_s=0.0)


def describe_dialog(dialog: Dialog) -> str:
    parts = []
    for item in dialog.content:
        if isinstance(item, Text):
            parts.append(f"text {item.text!r}")
        elif isinstance(item, Input):
            parts.append(f"input {item.key!r} ({item.label!r})")
        elif isinstance(item, Checkbox):
            parts.append(f"checkbox {item.key!r} ({item.label!r})")
    parts += [f"button {b.text!r} sets {b.key!r} = {b.value!r}" for b in dialog.buttons]
    return f"  dialog {dialog.title!r}: " + "; ".join(parts)


def _dialog_keys(dialog: Dialog) -> list[str]:
    keys = [item.key for item in dialog.content if isinstance(item, Input | Checkbox)]
    return keys + [button.key for button in dialog.buttons]


async def dry_run(
    graph: Graph,
    *,
    seed: int,
    answers: Mapping[str, str],
    media: MediaStore,
    step_limit: int = 1000,
    limits: VariableLimits | None = None,
) -> list[str]:
    """Walk ``graph`` once; returns the transcript, one line per step.

    ``limits`` bound the stream variables as on a server (its defaults when absent).
    """
    say = Transcript()
    variables = AnsweredVariables(answers, say, limits or VariableLimits())
    visits = MemoryVisits()
    services = EngineServices(
        instructions=InstantPoint(),
        logs=TranscriptLog(say),
        media=media,
        variables=lambda stream: variables,
        reset=_no_reset,
        speech=ShownSpeech(say),
        step_limit=step_limit,
        visits=lambda stream: visits,
    )
    point = StreamPoint(host="dry-run", port=0)
    stream = Stream(graph_id=graph.uuid, stream_point_id=point.uuid)
    engine = Engine(
        graph=graph,
        stream=stream,
        point=point,
        services=services,
        clean_slate=False,
        rng=random.Random(seed),
        observer=PrintingObserver(say),
    )
    say(f"play {shown(repr(graph.name))} with seed {seed}")
    async with aclosing(engine.run()) as events:
        async for event in events:
            if isinstance(event, InstructionSent):
                say(f"  instruction: {shown(event.instruction.instruction_text)}")
            elif isinstance(event, DialogShown):
                say(shown(describe_dialog(event.dialog)))
                for key in _dialog_keys(event.dialog):
                    variables.answer(key)
            elif isinstance(event, DeadEnd):
                say(f"end: {shown(event.reason)}")
    await _final_state(graph, variables.values, visits.counts, say)
    return say.lines


async def _final_state(
    graph: Graph, values: dict[str, str], counts: dict[str, int], say: Transcript
) -> None:
    say("variables:")
    for key in sorted(values):
        say(f"  {shown(key)} = {shown(repr(values[key]))}")
    say("visits:")
    for node in sorted(await Node.filter(graph_id=graph.uuid), key=node_order):
        say(f"  {shown(repr(node.name))}: {counts.get(str(node.uuid), 0)}")
