"""The graph document: a versioned JSON description of one graph and the audio it uses.

``graph_document`` turns a loaded graph into the document (lists in a stable order,
so exporting an imported graph gives the same document apart from ids);
``create_graph`` recreates a graph from a checked document in one transaction.
The document's JSON Schema is ``gencaster-graph.schema.json`` next to this module.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema

from gencaster.graph_changes import graph_change
from models import AudioCell, AudioFile, CellType, DoorType, Edge, Graph, Node, NodeDoor, ScriptCell

from .errors import ArchiveRefused, GraphClash
from .graphs import LoadedGraph

FORMAT_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("gencaster-graph.schema.json")
GRAPH_FIELDS = (
    "name", "display_name", "slug_name", "template_name", "stream_assignment_policy",
    "public_visible", "start_text", "about_text", "end_text",
)  # fmt: skip
NODE_FIELDS = ("name", "color", "position_x", "position_y", "is_entry_node", "is_blocking_node")
DOOR_FIELDS = ("door_type", "name", "order", "is_default", "code")


@cache
def document_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return schema


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Export -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedAudio:
    """One audio file of the graph: where it is on disk and its name in the archive."""

    source: Path
    archive_name: str


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def graph_document(
    loaded: LoadedGraph, path_of: Callable[[AudioFile], Path]
) -> tuple[dict[str, Any], list[ExportedAudio]]:
    """The document and the audio files it names; raises if a file is missing on disk."""
    audio_entries, files = _audio_entries(loaded, path_of)
    nodes = [_node_entry(loaded, node) for node in loaded.nodes]
    edges = [
        {"uuid": str(e.uuid), "from": str(e.out_node_door_id), "to": str(e.in_node_door_id)}
        for e in loaded.edges
    ]
    graph = {"uuid": str(loaded.graph.uuid)}
    graph.update({name: _plain(getattr(loaded.graph, name)) for name in GRAPH_FIELDS})
    document = {
        "format_version": FORMAT_VERSION,
        "graph": graph,
        "nodes": nodes,
        "edges": edges,
        "audio_files": audio_entries,
    }
    return document, files


def _node_entry(loaded: LoadedGraph, node: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {"uuid": str(node.uuid)}
    entry.update({name: _plain(getattr(node, name)) for name in NODE_FIELDS})
    entry["doors"] = [
        {"uuid": str(door.uuid), **{name: _plain(getattr(door, name)) for name in DOOR_FIELDS}}
        for door in loaded.doors.get(node.uuid, [])
    ]
    entry["cells"] = [_cell_entry(loaded, cell) for cell in loaded.cells.get(node.uuid, [])]
    return entry


def _cell_entry(loaded: LoadedGraph, cell: ScriptCell) -> dict[str, Any]:
    audio_cell = loaded.audio_cells.get(cell.audio_cell_id) if cell.audio_cell_id else None
    audio = None
    if audio_cell is not None:
        audio = {
            "uuid": str(audio_cell.uuid),
            "playback": _plain(audio_cell.playback),
            "volume": audio_cell.volume,
            "audio_file": str(audio_cell.audio_file_id),
        }
    return {
        "uuid": str(cell.uuid),
        "cell_type": _plain(cell.cell_type),
        "cell_code": cell.cell_code,
        "cell_order": cell.cell_order,
        "audio": audio,
    }


def _audio_entries(
    loaded: LoadedGraph, path_of: Callable[[AudioFile], Path]
) -> tuple[list[dict[str, Any]], list[ExportedAudio]]:
    entries: list[dict[str, Any]] = []
    files: dict[str, ExportedAudio] = {}
    for audio_file in _audio_files_in_use_order(loaded):
        source = path_of(audio_file)
        if not audio_file.file_path or not source.is_file():
            raise ArchiveRefused(
                f"The audio file {audio_file.name!r} ({audio_file.uuid}) is missing on disk; "
                "run `gencaster lint` to see which cells use it"
            )
        digest = file_digest(source)
        archive_name = f"audio/{digest}{source.suffix.lower()}"
        files.setdefault(archive_name, ExportedAudio(source, archive_name))
        entries.append(
            {
                "uuid": str(audio_file.uuid),
                "name": audio_file.name,
                "description": audio_file.description,
                "auto_generated": audio_file.auto_generated,
                "file": archive_name,
                "sha256": digest,
                "size": source.stat().st_size,
            }
        )
    return entries, list(files.values())


def _audio_files_in_use_order(loaded: LoadedGraph) -> Iterator[AudioFile]:
    seen: set[UUID] = set()
    for node in loaded.nodes:
        for cell in loaded.cells.get(node.uuid, []):
            audio_cell = loaded.audio_cells.get(cell.audio_cell_id) if cell.audio_cell_id else None
            if audio_cell is None or audio_cell.audio_file_id in seen:
                continue
            seen.add(audio_cell.audio_file_id)
            yield loaded.audio_files[audio_cell.audio_file_id]


# Import -------------------------------------------------------------------------


def check_document(document: Any) -> dict[str, Any]:
    """Refuse a document that is not one this version can import, saying why."""
    if not isinstance(document, dict):
        raise ArchiveRefused("The graph document is not a JSON object")
    version = document.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ArchiveRefused(
            f"The graph document has format_version {version}; this Gencaster reads "
            f"up to {FORMAT_VERSION}. Update Gencaster to import it."
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(document_schema()).iter_errors(document)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the document"
        raise ArchiveRefused(f"The graph document is invalid at {where}: {error.message[:300]}")
    _check_references(document)
    return document


def _check_references(document: dict[str, Any]) -> None:
    doors = {door["uuid"]: door for node in document["nodes"] for door in node["doors"]}
    ids = [document["graph"]["uuid"]] + [node["uuid"] for node in document["nodes"]]
    ids += list(doors) + [edge["uuid"] for edge in document["edges"]]
    ids += [cell["uuid"] for node in document["nodes"] for cell in node["cells"]]
    if len(ids) != len(set(ids)):
        raise ArchiveRefused("The graph document uses one uuid for two things")
    if sum(node["is_entry_node"] for node in document["nodes"]) != 1:
        raise ArchiveRefused("The graph document must have exactly one entry node")
    for node in document["nodes"]:
        for door_type in DoorType:
            defaults = [d for d in node["doors"] if d["door_type"] == door_type and d["is_default"]]
            if len(defaults) != 1:
                raise ArchiveRefused(
                    f"Node {node['name']!r} must have exactly one default {door_type} door"
                )
    for edge in document["edges"]:
        out_door, in_door = doors.get(edge["from"]), doors.get(edge["to"])
        if out_door is None or in_door is None:
            raise ArchiveRefused(f"Edge {edge['uuid']} names a door the document does not have")
        if out_door["door_type"] != "OUTPUT" or in_door["door_type"] != "INPUT":
            raise ArchiveRefused(f"Edge {edge['uuid']} must flow from an OUTPUT to an INPUT door")
    audio = {entry["uuid"] for entry in document["audio_files"]}
    for node in document["nodes"]:
        for cell in node["cells"]:
            if cell["cell_type"] == "AUDIO" and cell["audio"] is None:
                raise ArchiveRefused(f"Audio cell {cell['uuid']} has no audio file")
            if cell["audio"] is not None and cell["audio"]["audio_file"] not in audio:
                raise ArchiveRefused(f"Cell {cell['uuid']} names an audio file not in the archive")


class IdMap:
    """Old uuid -> new uuid. New ids of each group ascend in document order, so ties the
    engine breaks by uuid (cells of equal order) fall the same way as in the original."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.ids: dict[str, UUID] = {}

    def assign(self, old_ids: list[str]) -> None:
        fresh = sorted(uuid.uuid4() for _ in old_ids)
        for old, new in zip(old_ids, fresh, strict=True):
            self.ids[old] = UUID(old) if self.keep else new

    def __getitem__(self, old: str) -> UUID:
        return self.ids[old]


@dataclass(frozen=True)
class ImportedAudio:
    """An audio file of the archive, already placed in the media root."""

    file_path: str
    size: int
    duration: float | None
    channels: int | None
    sample_rate: int | None


async def create_graph(
    document: dict[str, Any],
    audio: dict[str, ImportedAudio | AudioFile],
    *,
    keep_ids: bool,
    rename: bool,
) -> Graph:
    """Write the graph in one transaction. ``audio`` maps the document's audio uuids to a
    file placed for it (or an existing row to reuse)."""
    ids = IdMap(keep_ids)
    ids.assign([document["graph"]["uuid"]])
    ids.assign([node["uuid"] for node in document["nodes"]])
    for node in document["nodes"]:
        ids.assign([door["uuid"] for door in node["doors"]])
        ids.assign([cell["uuid"] for cell in node["cells"]])
        ids.assign([cell["audio"]["uuid"] for cell in node["cells"] if cell["audio"]])
    ids.assign([edge["uuid"] for edge in document["edges"]])
    ids.assign([entry["uuid"] for entry in document["audio_files"]])
    async with graph_change(None) as change:  # a new graph: nobody watches it yet
        fields = {name: document["graph"][name] for name in GRAPH_FIELDS}
        fields.update(await _free_names(fields["name"], fields["slug_name"], rename))
        if keep_ids:
            await _refuse_taken_ids(document, ids)
        graph = await Graph.create(uuid=ids[document["graph"]["uuid"]], **fields)
        files = await _create_audio_files(document, audio, ids)
        for node in document["nodes"]:
            await _create_node(graph, node, ids, files)
        for edge in document["edges"]:
            await Edge.create(
                uuid=ids[edge["uuid"]],
                out_node_door_id=ids[edge["from"]],
                in_node_door_id=ids[edge["to"]],
            )
        change.touch(graph.uuid)
    return graph


async def _free_names(name: str, slug: str, rename: bool) -> dict[str, str]:
    taken = await Graph.filter(name=name).exists() or await Graph.filter(slug_name=slug).exists()
    if not taken:
        return {"name": name, "slug_name": slug}
    if not rename:
        raise GraphClash(
            f"A graph named {name!r} or with the slug {slug!r} already exists on this server; "
            "import with --rename to add this one as a copy"
        )
    for number in range(2, 10_000):
        new_name, new_slug = f"{name} ({number})"[:255], f"{slug}-{number}"[:255]
        if not (
            await Graph.filter(name=new_name).exists()
            or await Graph.filter(slug_name=new_slug).exists()
        ):
            return {"name": new_name, "slug_name": new_slug}
    raise GraphClash(f"No free name for a copy of {name!r}")


async def _refuse_taken_ids(document: dict[str, Any], ids: IdMap) -> None:
    graph_id = ids[document["graph"]["uuid"]]
    node_ids = [ids[node["uuid"]] for node in document["nodes"]]
    if await Graph.filter(uuid=graph_id).exists() or await Node.filter(uuid__in=node_ids).exists():
        raise GraphClash(
            "This graph's ids are already used on this server; import without --keep-ids"
        )


async def _create_audio_files(
    document: dict[str, Any], audio: dict[str, ImportedAudio | AudioFile], ids: IdMap
) -> dict[str, UUID]:
    """The uuid of the row each document audio uuid ends up as."""
    rows: dict[str, UUID] = {}
    for entry in document["audio_files"]:
        placed = audio[entry["uuid"]]
        if isinstance(placed, AudioFile):
            rows[entry["uuid"]] = placed.uuid
            continue
        row = await AudioFile.create(
            uuid=ids[entry["uuid"]],
            file_path=placed.file_path,
            file_size=placed.size,
            name=entry["name"],
            description=entry["description"],
            auto_generated=entry["auto_generated"],
            duration=placed.duration,
            channels=placed.channels,
            sample_rate=placed.sample_rate,
        )
        rows[entry["uuid"]] = row.uuid
    return rows


async def _create_node(
    graph: Graph, node: dict[str, Any], ids: IdMap, files: dict[str, UUID]
) -> None:
    fields = {name: node[name] for name in NODE_FIELDS}
    row = await Node.create(uuid=ids[node["uuid"]], graph=graph, **fields)
    for door in node["doors"]:
        await NodeDoor.create(
            uuid=ids[door["uuid"]], node=row, **{name: door[name] for name in DOOR_FIELDS}
        )
    for cell in node["cells"]:
        audio_cell = None
        if cell["audio"] is not None:
            audio_cell = await AudioCell.create(
                uuid=ids[cell["audio"]["uuid"]],
                playback=cell["audio"]["playback"],
                volume=cell["audio"]["volume"],
                audio_file_id=files[cell["audio"]["audio_file"]],
            )
        await ScriptCell.create(
            uuid=ids[cell["uuid"]],
            node=row,
            cell_type=CellType(cell["cell_type"]),
            cell_code=cell["cell_code"],
            cell_order=cell["cell_order"],
            audio_cell=audio_cell,
        )
