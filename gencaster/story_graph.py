"""Editing story graphs: every rule of API.md's mutation table, in transactions.

Each operation checks what it can before writing (so the client gets a clear
error rather than an IntegrityError), writes inside one ``graph_change`` (one
transaction that also moves the graph's version), and publishes the update only
after the commit. The database constraints stay the
last line of defence against races; their violations become ``Conflict``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from gencaster.distributor import GenCasterChannel
from gencaster.engine.markdown import dialect_tokens
from gencaster.engine.sandbox import (
    InvalidPythonCode,
    check_cell,
    check_expression,
    compile_code,
    is_blank,
)
from gencaster.errors import BadUserInput, Conflict, NotFound
from gencaster.graph_changes import graph_change
from models import (
    AudioCell,
    AudioFile,
    CellType,
    DoorType,
    Edge,
    Graph,
    Node,
    NodeDoor,
    ScriptCell,
)

DEFAULT_DOOR_NAME = "default"
ENTRY_NODE_NAME = "Start"


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    """Fields the caller gave a value; ``null`` means "leave as is" for non-null columns."""
    return {key: value for key, value in data.items() if value is not None}


async def _get(model: Any, uuid: UUID, what: str) -> Any:
    row = await model.get_or_none(uuid=uuid)
    if row is None:
        raise NotFound(f"No {what} with uuid {uuid}")
    return row


async def _create_default_doors(node: Node) -> None:
    for door_type in (DoorType.INPUT, DoorType.OUTPUT):
        await NodeDoor.create(
            node=node, door_type=door_type, name=DEFAULT_DOOR_NAME, is_default=True, order=0
        )


class StoryGraphEditor:
    """The story-graph mutations; publishes through ``channel`` after each commit."""

    def __init__(self, channel: GenCasterChannel) -> None:
        self.channel = channel

    # Graphs -------------------------------------------------------------------

    async def _check_graph_names_free(
        self, data: Mapping[str, Any], exclude: UUID | None = None
    ) -> None:
        for field, label in (("name", "name"), ("slug_name", "slug")):
            if field not in data:
                continue
            query = Graph.filter(**{field: data[field]})
            if exclude is not None:
                query = query.exclude(uuid=exclude)
            if await query.exists():
                raise Conflict(f"A graph with the {label} {data[field]!r} exists already")

    async def add_graph(self, data: Mapping[str, Any]) -> Graph:
        values = _present(data)
        if not values.get("slug_name", "").strip() or not values.get("name", "").strip():
            raise BadUserInput("A graph needs a name and a slug name")
        await self._check_graph_names_free(values)
        try:
            async with graph_change(self.channel) as change:
                graph = await Graph.create(**values)
                entry = await Node.create(graph=graph, name=ENTRY_NODE_NAME, is_entry_node=True)
                await _create_default_doors(entry)
                change.touch(graph.uuid)
        except IntegrityError as exc:
            raise Conflict("A graph with this name or slug exists already") from exc
        return graph

    async def update_graph(self, graph_uuid: UUID, data: Mapping[str, Any]) -> Graph:
        graph = await _get(Graph, graph_uuid, "graph")
        values = _present(data)
        if "name" in values and not values["name"].strip():
            raise BadUserInput("A graph needs a name")
        await self._check_graph_names_free(values, exclude=graph.uuid)
        graph.update_from_dict(values)
        try:
            async with graph_change(self.channel) as change:
                # Never ``version``: the row read above may hold an older one.
                await graph.save(update_fields=[*values, "modified_date"])
                change.touch(graph.uuid)
        except IntegrityError as exc:
            raise Conflict("A graph with this name exists already") from exc
        return graph

    # Nodes --------------------------------------------------------------------

    async def add_node(self, data: Mapping[str, Any]) -> Node:
        values = _present(data)
        graph = await _get(Graph, values.pop("graph_uuid"), "graph")
        async with graph_change(self.channel) as change:
            node = await Node.create(graph=graph, **values)
            await _create_default_doors(node)
            change.touch(graph.uuid, node.uuid)
        return node

    async def update_node(self, data: Mapping[str, Any]) -> Node:
        values = _present(data)
        node = await _get(Node, values.pop("uuid"), "node")
        node.update_from_dict(values)
        async with graph_change(self.channel) as change:
            await node.save()
            change.touch(node.graph_id, node.uuid)
        return node

    async def delete_node(self, node_uuid: UUID) -> None:
        node = await _get(Node, node_uuid, "node")
        if node.is_entry_node:
            raise BadUserInput("The entry node of a graph cannot be deleted")
        async with graph_change(self.channel) as change:
            audio_cells = await ScriptCell.filter(
                node=node, audio_cell_id__isnull=False
            ).values_list("audio_cell_id", flat=True)
            await node.delete()
            await AudioCell.filter(uuid__in=list(audio_cells)).delete()
            change.touch(node.graph_id, node.uuid)

    # Edges --------------------------------------------------------------------

    async def add_edge(self, in_door_uuid: UUID, out_door_uuid: UUID) -> Edge:
        in_door = await NodeDoor.get_or_none(uuid=in_door_uuid).select_related("node")
        out_door = await NodeDoor.get_or_none(uuid=out_door_uuid).select_related("node")
        if in_door is None or out_door is None:
            raise NotFound("No node door with that uuid")
        if in_door.door_type != DoorType.INPUT or out_door.door_type != DoorType.OUTPUT:
            raise BadUserInput("An edge goes from an OUTPUT door to an INPUT door")
        if in_door.node.graph_id != out_door.node.graph_id:
            raise BadUserInput("An edge joins doors of the same graph")
        if await Edge.filter(in_node_door=in_door, out_node_door=out_door).exists():
            raise Conflict("This edge exists already")
        try:
            async with graph_change(self.channel) as change:
                edge = await Edge.create(in_node_door=in_door, out_node_door=out_door)
                change.touch(in_door.node.graph_id, in_door.node_id, out_door.node_id)
        except IntegrityError as exc:
            raise Conflict("This edge exists already") from exc
        return edge

    async def delete_edge(self, edge_uuid: UUID) -> None:
        edge = await Edge.get_or_none(uuid=edge_uuid).select_related(
            "in_node_door__node", "out_node_door"
        )
        if edge is None:
            return
        async with graph_change(self.channel) as change:
            await edge.delete()
            change.touch(
                edge.in_node_door.node.graph_id,
                edge.in_node_door.node_id,
                edge.out_node_door.node_id,
            )

    # Script cells -------------------------------------------------------------

    async def create_script_cells(
        self, node_uuid: UUID, inputs: Sequence[Mapping[str, Any]]
    ) -> list[ScriptCell]:
        node = await _get(Node, node_uuid, "node")
        for data in inputs:
            await _check_cell_code(data.get("cell_type"), data.get("cell_code"))
        async with graph_change(self.channel) as change:
            # One flat value (Tortoise types every values_list as rows of tuples).
            top = cast(
                "int | None",
                await ScriptCell.filter(node=node)
                .annotate(top=Max("cell_order"))
                .first()
                .values_list("top", flat=True),
            )
            next_order = 0 if top is None else top + 1
            cells = []
            for data in inputs:
                values = _present(data)
                audio = values.pop("audio_cell", None)
                if "cell_order" not in values:
                    values["cell_order"] = next_order
                next_order = max(next_order, values["cell_order"]) + 1
                audio_cell = await _save_audio_cell(audio, None)
                _require_audio(values["cell_type"], audio_cell)
                cells.append(await ScriptCell.create(node=node, audio_cell=audio_cell, **values))
            change.touch(node.graph_id, node.uuid)
        return cells

    async def update_script_cells(self, inputs: Sequence[Mapping[str, Any]]) -> list[ScriptCell]:
        cells = []
        async with graph_change(self.channel) as change:
            for data in inputs:
                cells.append(await self._update_script_cell(_present(data)))
            nodes = await Node.filter(uuid__in=[cell.node_id for cell in cells])
            for node in nodes:
                change.touch(node.graph_id, node.uuid)
        return cells

    async def _update_script_cell(self, values: dict[str, Any]) -> ScriptCell:
        if "uuid" not in values:
            raise BadUserInput("Each script cell update needs the cell's uuid")
        cell = await _get(ScriptCell, values.pop("uuid"), "script cell")
        audio = values.pop("audio_cell", None)
        cell_type = values.get("cell_type", cell.cell_type)
        await _check_cell_code(cell_type, values.get("cell_code", cell.cell_code))
        if audio is not None:
            cell.audio_cell = await _save_audio_cell(audio, cell.audio_cell_id)
        _require_audio(cell_type, cell.audio_cell_id or audio)
        cell.update_from_dict(values)
        await cell.save()
        return cell

    async def delete_script_cell(self, cell_uuid: UUID) -> None:
        cell = await _get(ScriptCell, cell_uuid, "script cell")
        node = await _get(Node, cell.node_id, "node")
        async with graph_change(self.channel) as change:
            await cell.delete()
            if cell.audio_cell_id is not None:
                await AudioCell.filter(uuid=cell.audio_cell_id).delete()
            change.touch(node.graph_id, node.uuid)

    # Doors --------------------------------------------------------------------

    async def create_node_door(self, node_uuid: UUID, data: Mapping[str, Any]) -> NodeDoor:
        node = await _get(Node, node_uuid, "node")
        values = _present(data)
        invalid = await _door_code_problem(values.get("code"))
        if invalid is not None:
            raise BadUserInput(f"Invalid door code:\n{invalid.error_message}")
        async with graph_change(self.channel) as change:
            door = await NodeDoor.create(node=node, is_default=False, **values)
            change.touch(node.graph_id, node.uuid)
        return door

    async def update_node_door(self, data: Mapping[str, Any]) -> NodeDoor | InvalidPythonCode:
        """Returns the invalid-code report instead of saving when the code does not parse.

        A door's type never changes (``doorType`` is accepted for compatibility),
        so an update cannot break the one-default-door-per-type rule or an edge.
        """
        values = _present(data)
        values.pop("door_type", None)
        door = await _get(NodeDoor, values.pop("uuid"), "node door")
        invalid = await _door_code_problem(values.get("code"))
        if invalid is not None:
            return invalid
        door.update_from_dict(values)
        node = await _get(Node, door.node_id, "node")
        async with graph_change(self.channel) as change:
            await door.save()
            change.touch(node.graph_id, node.uuid)
        return door

    async def delete_node_door(self, door_uuid: UUID) -> bool:
        """False when nothing was deleted: a default door, or no such door (any more)."""
        door = await NodeDoor.get_or_none(uuid=door_uuid)
        if door is None or door.is_default:
            return False
        node = await _get(Node, door.node_id, "node")
        async with graph_change(self.channel) as change:
            await door.delete()
            change.touch(node.graph_id, node.uuid)
        return True


async def _door_code_problem(code: str | None) -> InvalidPythonCode | None:
    """Why door code cannot be saved, or ``None``; blank code is saved (the door never opens)."""
    if code is None or is_blank(code):
        return None
    try:
        await asyncio.to_thread(check_expression, code)
    except InvalidPythonCode as exc:
        return exc
    return None


# The markdown tokens that run code, and how the sandbox compiles them.
_CODE_TOKENS = {"python": "expression", "python_exec": "statements"}


async def _check_cell_code(cell_type: Any, code: Any) -> None:
    """Checking a long cell takes a while, so it runs off the event loop."""
    if not isinstance(code, str):
        return
    if cell_type == CellType.PYTHON:
        try:
            await asyncio.to_thread(check_cell, code)
        except InvalidPythonCode as exc:
            raise BadUserInput(f"Invalid Python cell:\n{exc.error_message}") from exc
    elif cell_type == CellType.MARKDOWN:
        await asyncio.to_thread(_check_markdown_code, code)


def _check_markdown_code(text: str) -> None:
    """A markdown cell's ``python`` and ``python_exec`` tokens pass the sandbox's checks."""
    for name, value in dialect_tokens(text):
        if name not in _CODE_TOKENS:
            continue
        try:
            compile_code(value, _CODE_TOKENS[name])
        except InvalidPythonCode as exc:
            raise BadUserInput(
                f"Invalid {{{name}}} token in a markdown cell:\n{exc.error_message}"
            ) from exc


def _require_audio(cell_type: Any, audio: Any) -> None:
    if cell_type == CellType.AUDIO and audio is None:
        raise BadUserInput("An AUDIO cell needs an audioCell with an audio file")


async def _save_audio_cell(
    data: Mapping[str, Any] | None, existing: UUID | None
) -> AudioCell | None:
    """Create or update the audio cell described by ``data``."""
    if data is None:
        return None
    values = _present(data)
    reference = values.pop("audio_file")
    audio_file = await _get(AudioFile, reference["uuid"], "audio file")
    given = values.pop("uuid", None)
    if given is not None and given != existing:
        raise BadUserInput("audioCell.uuid must be the uuid of this cell's own audio cell")
    audio_cell = await AudioCell.get_or_none(uuid=existing) if existing else None
    if audio_cell is None:
        return await AudioCell.create(audio_file=audio_file, **values)
    audio_cell.update_from_dict(values)
    audio_cell.audio_file = audio_file
    await audio_cell.save()
    return audio_cell
