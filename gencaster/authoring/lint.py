"""Lint: numbered diagnostics over a stored graph, before anyone listens to it.

Each check has a stable code (``GC0001``…), a severity and a message naming the
node, cell or door it concerns; ``docs/authoring/lint.md`` shows one example per
code. Codes are never reused or renumbered: a retired check keeps its number.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from uuid import UUID

from gencaster.engine.markdown import TOKEN_NAMES, dialect_tokens
from gencaster.engine.sandbox import (
    InvalidPythonCode,
    SandboxError,
    check_cell,
    check_expression,
    compile_code,
    evaluate_expression,
    is_blank,
    parse_source,
)
from models import AudioFile, CellType, Graph, Node, NodeDoor, PlaybackChoices, ScriptCell

from .graphs import LoadedGraph, load_graph
from .variables import CodeFacts, code_facts


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    title: str


CHECKS = {
    check.code: check
    for check in (
        Check("GC0001", Severity.ERROR, "the graph has no entry node"),
        Check("GC0002", Severity.WARNING, "a node cannot be reached from the entry node"),
        Check("GC0003", Severity.ERROR, "door code does not compile or is refused by the sandbox"),
        Check("GC0004", Severity.ERROR, "a Python cell does not compile or is refused"),
        Check("GC0005", Severity.ERROR, "a markdown python token does not compile or is refused"),
        Check("GC0006", Severity.WARNING, "a variable is read but nothing ever sets it"),
        Check("GC0007", Severity.WARNING, "a markdown token the dialect does not know"),
        Check("GC0008", Severity.ERROR, "an audio cell has no audio file"),
        Check("GC0009", Severity.ERROR, "an audio cell's file is missing on disk"),
        Check("GC0010", Severity.WARNING, "a cycle with no blocking node and no cell that waits"),
        Check("GC0011", Severity.WARNING, "a door that can never open"),
        Check("GC0012", Severity.WARNING, "two doors of one node share an order"),
        Check("GC0013", Severity.WARNING, "visits() names a node the graph does not have"),
        Check("GC0014", Severity.INFO, "a door without edges"),
    )
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    node_uuid: UUID | None = None
    node_name: str | None = None
    cell_uuid: UUID | None = None
    door_uuid: UUID | None = None

    def where(self) -> str:
        return f"node {self.node_name!r}" if self.node_name is not None else "graph"

    def as_json(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "node_uuid": _text(self.node_uuid),
            "node_name": self.node_name,
            "cell_uuid": _text(self.cell_uuid),
            "door_uuid": _text(self.door_uuid),
        }


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


async def lint_graph(graph: Graph, path_of: Callable[[AudioFile], Path]) -> list[Diagnostic]:
    """Read the graph, then check it in a thread: compiling code, parsing markdown and
    looking for audio files on disk would otherwise hold up every stream of the server."""
    loaded = await load_graph(graph)
    return await asyncio.to_thread(Linter(loaded, path_of).run)


class Linter:
    def __init__(self, loaded: LoadedGraph, path_of: Callable[[AudioFile], Path]) -> None:
        self.loaded = loaded
        self.path_of = path_of
        self.found: list[Diagnostic] = []
        self.facts: list[tuple[Node, ScriptCell | None, NodeDoor | None, CodeFacts]] = []

    def report(
        self,
        code: str,
        message: str,
        node: Node | None = None,
        *,
        cell: ScriptCell | None = None,
        door: NodeDoor | None = None,
    ) -> None:
        where = ""
        if cell is not None and node is not None:
            number = self.loaded.cells[node.uuid].index(cell) + 1
            where = f"cell {number} ({cell.cell_type.value}): "
        elif door is not None:
            where = f"door {door.name!r}: "
        self.found.append(
            Diagnostic(
                code=code,
                severity=CHECKS[code].severity,
                message=where + message,
                node_uuid=node.uuid if node else None,
                node_name=node.name if node else None,
                cell_uuid=cell.uuid if cell else None,
                door_uuid=door.uuid if door else None,
            )
        )

    def run(self) -> list[Diagnostic]:
        entry = next((node for node in self.loaded.nodes if node.is_entry_node), None)
        if entry is None:
            self.report("GC0001", "the graph has no entry node, so no stream can start")
        else:
            self.check_reachable(entry)
        for node in self.loaded.nodes:
            self.check_doors(node)
            for cell in self.loaded.cells.get(node.uuid, []):
                self.check_cell(node, cell)
        self.check_variables()
        self.check_cycles()
        order = {node.uuid: index for index, node in enumerate(self.loaded.nodes)}
        return sorted(
            self.found,
            key=lambda d: (d.node_uuid is not None, order.get(d.node_uuid, -1), d.code),  # type: ignore[arg-type]
        )

    # Structure ---------------------------------------------------------------------

    def successors(self, node: Node) -> Iterator[Node]:
        for door in self.loaded.out_doors(node):
            for edge in self.loaded.edges_from(door):
                yield self.loaded.target(edge)

    def check_reachable(self, entry: Node) -> None:
        seen, todo = {entry.uuid}, [entry]
        while todo:
            for target in self.successors(todo.pop()):
                if target.uuid not in seen:
                    seen.add(target.uuid)
                    todo.append(target)
        for node in self.loaded.nodes:
            if node.uuid not in seen:
                self.report("GC0002", "no path leads here from the entry node", node)

    def check_cycles(self) -> None:
        for component in strongly_connected(self.loaded.nodes, self.successors):
            if any(node.is_blocking_node or self.waits(node) for node in component):
                continue
            names = ", ".join(repr(node.name) for node in component)
            self.report(
                "GC0010",
                f"the cycle through {names} has no blocking node and no cell that waits: "
                "a stream would run around it without pause until the step limit",
                component[0],
            )

    def waits(self, node: Node) -> bool:
        return any(self.cell_waits(cell) for cell in self.loaded.cells.get(node.uuid, []))

    def cell_waits(self, cell: ScriptCell) -> bool:
        if cell.cell_type == CellType.SUPERCOLLIDER:
            return bool(cell.cell_code.strip())
        if cell.cell_type == CellType.MARKDOWN:
            return bool(cell.cell_code.strip())
        if cell.cell_type == CellType.AUDIO:
            audio = self.loaded.audio_cells.get(cell.audio_cell_id) if cell.audio_cell_id else None
            return audio is not None and audio.playback == PlaybackChoices.SYNC_PLAYBACK
        if cell.cell_type == CellType.PYTHON:
            return any(isinstance(item, ast.Await) for item in ast.walk(_parsed(cell.cell_code)))
        return False

    # Doors -----------------------------------------------------------------------

    def check_doors(self, node: Node) -> None:
        orders: dict[int, NodeDoor] = {}
        for door in self.loaded.out_doors(node):
            if door.is_default:
                continue
            if door.order in orders:
                first = orders[door.order]
                self.report(
                    "GC0012",
                    f"has the same order ({door.order}) as door {first.name!r}; "
                    "the name decides which is tried first",
                    node,
                    door=door,
                )
            orders.setdefault(door.order, door)
            self.check_door_code(node, door)
            if not self.loaded.edges_from(door):
                self.report(
                    "GC0014",
                    "has no edges: when it opens, the default door is taken",
                    node,
                    door=door,
                )

    def check_door_code(self, node: Node, door: NodeDoor) -> None:
        if is_blank(door.code):
            self.report(
                "GC0011", "its code is empty or only comments, so it never opens", node, door=door
            )
            return
        try:
            check_expression(door.code)
        except InvalidPythonCode as error:
            self.report("GC0003", _compile_message(error), node, door=door)
            return
        constant = _constant_value(door.code)
        if constant is not _UNKNOWN and constant is not True:
            self.report(
                "GC0011",
                f"its code is always {constant!r}, so it never opens (a door opens on True only)",
                node,
                door=door,
            )
        self.facts.append((node, None, door, code_facts(door.code, "eval")))

    # Cells -----------------------------------------------------------------------

    def check_cell(self, node: Node, cell: ScriptCell) -> None:
        if cell.cell_type == CellType.PYTHON:
            try:
                check_cell(cell.cell_code)
            except InvalidPythonCode as error:
                self.report("GC0004", _compile_message(error), node, cell=cell)
                return
            self.facts.append((node, cell, None, code_facts(cell.cell_code, "exec")))
        elif cell.cell_type == CellType.MARKDOWN:
            self.check_markdown(node, cell)
        elif cell.cell_type == CellType.AUDIO:
            self.check_audio(node, cell)

    def check_markdown(self, node: Node, cell: ScriptCell) -> None:
        for name, value in dialect_tokens(cell.cell_code):
            if name not in TOKEN_NAMES:
                known = ", ".join(sorted(TOKEN_NAMES))
                self.report(
                    "GC0007",
                    f"{{{name}}} is not a token of the dialect (known: {known}); "
                    "its text is read out as is",
                    node,
                    cell=cell,
                )
            elif name == "var":
                variable, separator, _ = value.partition("|")
                facts = CodeFacts(reads={variable.strip()} if not separator else set())
                self.facts.append((node, cell, None, facts))
            elif name in ("python", "python_exec"):
                mode = "expression" if name == "python" else "statements"
                try:
                    compile_code(value, mode)
                except InvalidPythonCode as error:
                    self.report("GC0005", f"{{{name}}} " + _compile_message(error), node, cell=cell)
                    continue
                self.facts.append(
                    (node, cell, None, code_facts(value, "eval" if name == "python" else "exec"))
                )

    def check_audio(self, node: Node, cell: ScriptCell) -> None:
        audio = self.loaded.audio_cells.get(cell.audio_cell_id) if cell.audio_cell_id else None
        audio_file = self.loaded.audio_files.get(audio.audio_file_id) if audio else None
        if audio_file is None:
            self.report("GC0008", "the audio cell has no audio file to play", node, cell=cell)
        elif not audio_file.file_path or not self.path_of(audio_file).is_file():
            self.report(
                "GC0009",
                f"the audio file {audio_file.name!r} is missing on disk",
                node,
                cell=cell,
            )

    # Variables and visits --------------------------------------------------------

    def check_variables(self) -> None:
        all_facts = [facts for *_, facts in self.facts]
        written = set().union(*(facts.writes for facts in all_facts))
        dynamic = any(facts.dynamic_writes for facts in all_facts)
        names = {node.name for node in self.loaded.nodes}
        for node, cell, door, facts in self.facts:
            for variable in sorted(facts.reads - written) if not dynamic else []:
                self.report(
                    "GC0006",
                    f"reads the variable {variable!r}, but no cell, dialog or wait for "
                    "listener input ever sets it",
                    node,
                    cell=cell,
                    door=door,
                )
            for name in sorted(facts.visited - names):
                self.report(
                    "GC0013",
                    f"visits({name!r}) names no node of this graph, so it is always 0",
                    node,
                    cell=cell,
                    door=door,
                )


_UNKNOWN = object()


def _constant_value(code: str) -> object:
    """The value of a door expression that reads nothing (``False``, ``1 == 2``)."""
    tree = parse_source(code, "eval")
    if any(isinstance(node, ast.Name | ast.Call | ast.Attribute) for node in ast.walk(tree)):
        return _UNKNOWN
    try:
        return evaluate_expression(code, {})
    except SandboxError:
        return _UNKNOWN


def _parsed(code: str) -> ast.AST:
    try:
        return parse_source(code, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ast.Module(body=[], type_ignores=[])


def _compile_message(error: InvalidPythonCode) -> str:
    lines = error.error_message.splitlines()
    return f"{error.error_type}: {lines[-1] if lines else error.error_type}"


def strongly_connected(
    nodes: list[Node], successors: Callable[[Node], Iterator[Node]]
) -> list[list[Node]]:
    """Components that hold a cycle (Tarjan), each in the given node order."""
    index: dict[UUID, int] = {}
    low: dict[UUID, int] = {}
    stack: list[Node] = []
    on_stack: set[UUID] = set()
    found: list[list[Node]] = []
    position = {node.uuid: i for i, node in enumerate(nodes)}

    def visit(start: Node) -> None:
        work = [(start, iter(list(successors(start))))]
        index[start.uuid] = low[start.uuid] = len(index)
        stack.append(start)
        on_stack.add(start.uuid)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child.uuid not in index:
                    index[child.uuid] = low[child.uuid] = len(index)
                    stack.append(child)
                    on_stack.add(child.uuid)
                    work.append((child, iter(list(successors(child)))))
                elif child.uuid in on_stack:
                    low[node.uuid] = min(low[node.uuid], index[child.uuid])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent.uuid] = min(low[parent.uuid], low[node.uuid])
            if low[node.uuid] == index[node.uuid]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member.uuid)
                    component.append(member)
                    if member.uuid == node.uuid:
                        break
                looped = len(component) > 1 or any(
                    target.uuid == node.uuid for target in successors(node)
                )
                if looped:
                    found.append(sorted(component, key=lambda n: position[n.uuid]))

    for node in nodes:
        if node.uuid not in index:
            visit(node)
    return sorted(found, key=lambda component: position[component[0].uuid])


__all__ = ["CHECKS", "Check", "Diagnostic", "Severity", "lint_graph"]
