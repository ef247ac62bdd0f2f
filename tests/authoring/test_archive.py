"""``.gencaster`` archives: export, import into another server, and what is refused."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gencaster.authoring.archive import document_of, export_archive, import_archive
from gencaster.authoring.document import SCHEMA_FILE
from gencaster.authoring.errors import ArchiveRefused, GraphClash
from gencaster.authoring.play import dry_run
from gencaster.media import MediaStore
from models import AudioFile, Graph, Node
from tests.audio.conftest import sound_bytes
from tests.authoring.conftest import OpenDatabase
from tests.authoring.support import demo_story, write_archive

pytestmark = pytest.mark.asyncio(loop_scope="session")

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def without_ids(document: Any) -> Any:
    """Each uuid replaced by the order of its first appearance: equal apart from ids."""
    labels: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and UUID.match(value):
            return labels.setdefault(value, f"id-{len(labels)}")
        return value

    return walk(document)


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("graph.json"))
        files = {n: archive.read(n) for n in archive.namelist() if n != "graph.json"}
    return document, files


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(document)


async def demo(tmp_path: Path, media: MediaStore) -> Graph:
    document, files = demo_story(sound_bytes("WAV"))
    return await import_archive(write_archive(tmp_path / "demo.zip", document, files), media)


async def test_the_published_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


async def test_export_import_export_is_identical_apart_from_ids(
    db: str, tmp_path: Path, media: MediaStore
):
    graph = await demo(tmp_path, media)
    await export_archive(graph, media, tmp_path / "first.gencaster")
    first, first_files = read_archive(tmp_path / "first.gencaster")
    validate(first)
    assert first["format_version"] == 1
    assert [entry["file"] for entry in first["audio_files"]] == list(first_files)
    await Graph.filter(uuid=graph.uuid).delete()
    again = await import_archive(tmp_path / "first.gencaster", media)
    assert again.uuid != graph.uuid
    await export_archive(again, media, tmp_path / "second.gencaster")
    second, second_files = read_archive(tmp_path / "second.gencaster")
    validate(second)
    assert second["graph"]["uuid"] != first["graph"]["uuid"]
    assert without_ids(second) == without_ids(first)
    assert second_files == first_files


async def test_an_imported_graph_plays_the_same_dry_run_on_an_empty_server(
    db: str, tmp_path: Path, media: MediaStore, empty_database: OpenDatabase
):
    graph = await demo(tmp_path, media)
    await export_archive(graph, media, tmp_path / "story.gencaster")
    walks = {seed: await dry_run(graph, seed=seed, answers={"name": "Cy"}, media=media)
             for seed in range(4)}  # fmt: skip
    other_media = MediaStore(root=tmp_path / "other-media")
    original_sound = media.path_of(await AudioFile.get()).read_bytes()
    async with empty_database():
        assert await Graph.all().count() == 0
        imported = await import_archive(tmp_path / "story.gencaster", other_media)
        for seed, walk in walks.items():
            assert await dry_run(imported, seed=seed, answers={"name": "Cy"}, media=media) == walk
        audio = await AudioFile.get()
        assert other_media.path_of(audio).read_bytes() == original_sound


async def test_keep_ids_keeps_every_uuid_on_another_server(
    db: str, tmp_path: Path, media: MediaStore, empty_database: OpenDatabase
):
    graph = await demo(tmp_path, media)
    original = await export_archive(graph, media, tmp_path / "story.gencaster")
    async with empty_database():
        kept = await import_archive(tmp_path / "story.gencaster", media, keep_ids=True)
        assert await document_of(kept, media) == original


async def test_a_name_clash_is_refused_unless_renamed(db: str, tmp_path: Path, media: MediaStore):
    graph = await demo(tmp_path, media)
    await export_archive(graph, media, tmp_path / "story.gencaster")
    before = set((media.root / "audio").iterdir())
    with pytest.raises(GraphClash, match="already exists on this server; import with --rename"):
        await import_archive(tmp_path / "story.gencaster", media)
    assert set((media.root / "audio").iterdir()) == before  # the placed copy was removed
    assert await Graph.all().count() == 1
    with pytest.raises(GraphClash, match="without --keep-ids"):
        await import_archive(tmp_path / "story.gencaster", media, keep_ids=True, rename=True)
    copy = await import_archive(tmp_path / "story.gencaster", media, rename=True)
    third = await import_archive(tmp_path / "story.gencaster", media, rename=True)
    assert (copy.name, copy.slug_name) == ("Demo story (2)", "demo-story-2")
    assert (third.name, third.slug_name) == ("Demo story (3)", "demo-story-3")
    assert await Node.filter(graph_id=copy.uuid).count() == 7


def _changed(document: dict[str, Any], change: str) -> dict[str, Any]:
    document = json.loads(json.dumps(document))
    if change == "newer":
        document["format_version"] = 2
    elif change == "unknown field":
        document["nodes"][0]["shape"] = "round"
    elif change == "two entries":
        document["nodes"][1]["is_entry_node"] = True
    elif change == "infinite position":
        document["nodes"][0]["position_x"] = float("inf")  # written as Infinity
    elif change == "NaN position":
        document["nodes"][0]["position_y"] = float("nan")
    elif change == "edge backwards":
        edge = document["edges"][0]
        edge["from"], edge["to"] = edge["to"], edge["from"]
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("newer", "format_version 2; this Gencaster reads up to 1"),
        ("unknown field", "invalid at nodes/0"),
        ("two entries", "exactly one entry node"),
        ("edge backwards", "must flow from an OUTPUT to an INPUT door"),
        ("infinite position", "Infinity is not a JSON number"),
        ("NaN position", "NaN is not a JSON number"),
        ("bad audio", "does not match its sha256"),
        ("not a zip", "is not a Gencaster archive"),
        ("too large", "is larger than the limit of 1000 bytes"),
    ],
)
async def test_a_broken_archive_is_refused_and_leaves_nothing_behind(
    db: str, tmp_path: Path, media: MediaStore, change: str, message: str
):
    document, files = demo_story(sound_bytes("WAV"))
    path = tmp_path / "broken.gencaster"
    if change == "not a zip":
        path.write_bytes(b"PK\x03\x04 but not really")
    elif change == "bad audio":
        write_archive(path, document, {name: content[:-10] for name, content in files.items()})
    else:
        write_archive(path, _changed(document, change), files)
    limit = 1000 if change == "too large" else 1 << 30
    with pytest.raises(ArchiveRefused, match=re.escape(message)):
        await import_archive(path, media, max_audio_bytes=limit)
    assert await Graph.all().count() == 0
    assert await AudioFile.all().count() == 0
    assert not (media.root / "audio").exists() or not any((media.root / "audio").iterdir())
