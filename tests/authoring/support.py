"""Build graph documents in a few lines, for tests of lint, dry runs and archives."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencaster.authoring.document import FORMAT_VERSION


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class NodeRef:
    entry: dict[str, Any]

    @property
    def uuid(self) -> str:
        return str(self.entry["uuid"])

    def default_door(self, door_type: str) -> str:
        return next(
            door["uuid"]
            for door in self.entry["doors"]
            if door["door_type"] == door_type and door["is_default"]
        )


@dataclass
class Story:
    """A graph document under construction; ``document()`` is what an archive holds."""

    name: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    audio_files: list[dict[str, Any]] = field(default_factory=list)

    def node(
        self,
        name: str,
        *cells: tuple[str, str] | dict[str, Any],
        entry: bool = False,
        blocking: bool = False,
        x: float = 0.0,
        y: float = 0.0,
    ) -> NodeRef:
        doors = [
            _door("INPUT", "default", "True", 0, True),
            _door("OUTPUT", "default", "True", 0, True),
        ]
        node = {
            "uuid": new_id(),
            "name": name,
            "color": "#fff",
            "position_x": x,
            "position_y": y,
            "is_entry_node": entry,
            "is_blocking_node": blocking,
            "doors": doors,
            "cells": [_cell(cell, order) for order, cell in enumerate(cells)],
        }
        self.nodes.append(node)
        return NodeRef(node)

    def door(self, node: NodeRef, name: str, code: str, order: int = 10) -> str:
        door = _door("OUTPUT", name, code, order, False)
        node.entry["doors"].append(door)
        return str(door["uuid"])

    def edge(self, source: NodeRef | str, target: NodeRef) -> None:
        out_door = source.default_door("OUTPUT") if isinstance(source, NodeRef) else source
        self.edges.append({"uuid": new_id(), "from": out_door, "to": target.default_door("INPUT")})

    def document(self) -> dict[str, Any]:
        slug = self.name.lower().replace(" ", "-")
        return {
            "format_version": FORMAT_VERSION,
            "graph": {
                "uuid": new_id(),
                "name": self.name,
                "display_name": self.name,
                "slug_name": slug,
                "template_name": "DEFAULT",
                "stream_assignment_policy": "ONE_USER_ONE_STREAM",
                "public_visible": False,
                "start_text": "",
                "about_text": "",
                "end_text": "",
            },
            "nodes": self.nodes,
            "edges": self.edges,
            "audio_files": self.audio_files,
        }


def _door(door_type: str, name: str, code: str, order: int, default: bool) -> dict[str, Any]:
    return {
        "uuid": new_id(),
        "door_type": door_type,
        "name": name,
        "order": order,
        "is_default": default,
        "code": code,
    }


def _cell(cell: tuple[str, str] | dict[str, Any], order: int) -> dict[str, Any]:
    if isinstance(cell, dict):
        return {"uuid": new_id(), "cell_order": order, "audio": None, **cell}
    cell_type, code = cell
    return {"uuid": new_id(), "cell_type": cell_type, "cell_code": code, "cell_order": order,
            "audio": None}  # fmt: skip


def add_audio(story: Story, name: str, content: bytes) -> tuple[str, str, bytes]:
    """Add an audio file entry; returns its uuid, archive name and content."""
    digest = hashlib.sha256(content).hexdigest()
    entry = {
        "uuid": new_id(),
        "name": name,
        "description": "",
        "auto_generated": False,
        "file": f"audio/{digest}.wav",
        "sha256": digest,
        "size": len(content),
    }
    story.audio_files.append(entry)
    return entry["uuid"], entry["file"], content


def audio_cell(audio_uuid: str, playback: str = "SYNC_PLAYBACK") -> dict[str, Any]:
    return {
        "cell_type": "AUDIO",
        "cell_code": "",
        "audio": {"uuid": new_id(), "playback": playback, "volume": 0.5, "audio_file": audio_uuid},
    }


def write_archive(path: Path, document: dict[str, Any], files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("graph.json", json.dumps(document))
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def demo_story(tone: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A correct graph using every kind of cell, a dialog, a random fork and a loop."""
    story = Story("Demo story")
    audio_uuid, audio_name, _ = add_audio(story, "tone", tone)
    start = story.node(
        "Start",
        ("MARKDOWN", "Welcome, {var}`name|listener`. {break}`300ms`"),
        ("PYTHON", ASK_NAME),
        entry=True,
    )
    named = story.node("Named", ("MARKDOWN", "Hello {var}`name`, {moderate}`nice`."))
    fork = story.node("Fork", ("SUPERCOLLIDER", "Ndef(\\\\fork).play;"), ("COMMENT", "random"))
    left = story.node("Left", ("PYTHON", "vars['side'] = 'left'"), audio_cell(audio_uuid), x=-1)
    right = story.node("Right", ("PYTHON", "vars['side'] = random.choice(['right', 'far'])"), x=1)
    loop = story.node("Loop", ("SUPERCOLLIDER", "Ndef(\\\\loop).play;"))
    end = story.node(
        "End",
        ("MARKDOWN", "You went {var}`side` after {python}`visits('Loop')` rounds."),
        blocking=True,
    )
    story.edge(story.door(start, "named", "vars.get('name', '') != ''", order=1), named)
    story.edge(start, fork)
    story.edge(named, fork)
    story.edge(fork, left)
    story.edge(fork, right)
    story.edge(left, loop)
    story.edge(right, loop)
    story.edge(story.door(loop, "again", "visits('Loop') < 2"), loop)
    story.edge(loop, end)
    return story.document(), {audio_name: tone}


ASK_NAME = """\
yield Dialog(title="Hello", content=[Input(key="name", label="Your name")],
             buttons=[Button.ok()])
name = await wait_for_stream_variable("name", timeout=30)
vars["greeted"] = "yes" if name else "no"
"""
