"""Lint: each broken graph gets exactly its diagnostics, and the demo graph none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gencaster.authoring.archive import import_archive
from gencaster.authoring.lint import CHECKS, Diagnostic, Severity, lint_graph
from gencaster.media import MediaStore
from models import AudioCell, AudioFile, Graph, ScriptCell
from tests.audio.conftest import sound_bytes
from tests.authoring.support import Story, add_audio, audio_cell, demo_story, write_archive

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def imported(story: Story, tmp_path: Path, media: MediaStore, files=None) -> Graph:
    path = write_archive(tmp_path / "story.gencaster", story.document(), files or {})
    return await import_archive(path, media)


def summary(diagnostics: list[Diagnostic]) -> list[tuple[str, str | None]]:
    return [(d.code, d.node_name) for d in diagnostics]


async def test_the_demo_graph_has_no_diagnostics(db: str, tmp_path: Path, media: MediaStore):
    document, files = demo_story(sound_bytes("WAV"))
    graph = await import_archive(write_archive(tmp_path / "d.zip", document, files), media)
    assert await lint_graph(graph, media.path_of) == []


def unreachable() -> Story:
    story = Story("Unreachable")
    start = story.node("Start", entry=True)
    end = story.node("End")
    island = story.node("Island")
    story.edge(start, end)
    story.edge(island, end)
    return story


def bad_code() -> Story:
    story = Story("Bad code")
    start = story.node(
        "Start",
        ("PYTHON", "import os"),
        ("PYTHON", "vars['x'] = (1"),
        ("MARKDOWN", "Say {python}`__import__('os')` and {python_exec}`vars['y'] = 1`."),
        entry=True,
    )
    end = story.node("End")
    story.edge(story.door(start, "dunder", "vars.__class__"), end)
    story.edge(story.door(start, "syntax", "1 +", order=11), end)
    story.edge(start, end)
    return story


def unset_variables() -> Story:
    story = Story("Unset variables")
    start = story.node(
        "Start",
        ("PYTHON", "vars['score'] = int(vars['lives']) + 1\nvars.get('ok', 'fallback')"),
        ("MARKDOWN", "You have {var}`score` points, {var}`missing` and {var}`maybe|none`."),
        entry=True,
    )
    ask = story.node(
        "Ask",
        ("PYTHON", "yield Dialog(title='Q', content=[Checkbox('agree')], buttons=[Button.ok()])"),
        ("PYTHON", "color = await wait_for_stream_variable('color', timeout=5)"),
    )
    story.edge(story.door(start, "rich", "vars['coins'] == '10'", order=1), ask)
    fine = "vars['agree'] == 'True' and vars['ok'] == 'ok' and vars['greeting'] == 'hi'"
    story.edge(story.door(start, "fine", fine, order=2), ask)
    story.edge(story.door(start, "colored", "vars['color'] == 'red'", order=3), ask)
    story.edge(start, ask)
    return story


def unknown_tokens() -> Story:
    story = Story("Unknown tokens")
    story.node(
        "Start",
        (
            "MARKDOWN",
            "A {whisper}`quiet` word and {chars}`ABC` and {Break}`1s`.\n\n```\n{x}`y`\n```",
        ),
        entry=True,
    )
    return story


def spinning() -> Story:
    story = Story("Spinning")
    start = story.node("Start", entry=True)
    a = story.node("A", ("PYTHON", "vars['n'] = visits('A')"), ("COMMENT", "no pause"))
    b = story.node("B")
    paced = story.node("Paced", ("SUPERCOLLIDER", "1.wait;"))
    waits = story.node("Waits", ("PYTHON", "await asyncio.sleep(1)"))
    held = story.node("Held", blocking=True)
    story.edge(start, a)
    story.edge(a, b)
    story.edge(story.door(b, "back", "visits('B') < 100"), a)
    story.edge(b, paced)
    story.edge(story.door(paced, "again", "True"), paced)
    story.edge(paced, waits)
    story.edge(story.door(waits, "again", "True"), waits)
    story.edge(waits, held)
    story.edge(story.door(held, "again", "True"), held)
    return story


def closed_doors() -> Story:
    story = Story("Closed doors")
    start = story.node("Start", entry=True)
    end = story.node("End")
    for name, code, order in [
        ("never", "False", 1),
        ("folded", "1 == 2", 2),
        ("text", "'yes'", 3),
        ("empty", "", 4),
        ("open", "True", 5),
        ("fine", "visits('End') > 0", 5),
        ("lost", "visits('Nowhere') > 0", 6),
    ]:
        story.edge(story.door(start, name, code, order=order), end)
    story.door(end, "unconnected", "visits('Start') > 1")
    return story


BROKEN: dict[str, tuple[Callable[[], Story], list[tuple[str, str | None]]]] = {
    "unreachable": (unreachable, [("GC0002", "Island")]),
    "bad code": (
        bad_code,
        [("GC0003", "Start"), ("GC0003", "Start"), ("GC0004", "Start"), ("GC0004", "Start"),
         ("GC0005", "Start")],
    ),
    "unset variables": (
        unset_variables,
        [("GC0006", "Start"), ("GC0006", "Start"), ("GC0006", "Start"), ("GC0006", "Start")],
    ),
    "unknown tokens": (unknown_tokens, [("GC0007", "Start"), ("GC0007", "Start")]),
    "spinning": (spinning, [("GC0010", "A")]),
    "closed doors": (
        closed_doors,
        [("GC0011", "Start"), ("GC0011", "Start"), ("GC0011", "Start"), ("GC0011", "Start"),
         ("GC0012", "Start"), ("GC0013", "Start"), ("GC0014", "End")],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_graph_gets_exactly_its_diagnostics(
    db: str, tmp_path: Path, media: MediaStore, case: str
):
    build, expected = BROKEN[case]
    diagnostics = await lint_graph(await imported(build(), tmp_path, media), media.path_of)
    assert sorted(summary(diagnostics)) == sorted(expected), [d.message for d in diagnostics]
    for diagnostic in diagnostics:
        assert diagnostic.severity == CHECKS[diagnostic.code].severity


async def test_messages_name_the_cell_door_and_variable(db: str, tmp_path: Path, media: MediaStore):
    graph = await imported(unset_variables(), tmp_path, media)
    messages = sorted(d.message for d in await lint_graph(graph, media.path_of))
    assert messages == [
        "cell 1 (PYTHON): reads the variable 'lives', but no cell, dialog or wait for "
        "listener input ever sets it",
        "cell 2 (MARKDOWN): reads the variable 'missing', but no cell, dialog or wait for "
        "listener input ever sets it",
        "door 'fine': reads the variable 'greeting', but no cell, dialog or wait for listener "
        "input ever sets it",
        "door 'rich': reads the variable 'coins', but no cell, dialog or wait for listener "
        "input ever sets it",
    ]
    graph = await imported(bad_code(), tmp_path, media)
    door = next(d for d in await lint_graph(graph, media.path_of) if d.code == "GC0003")
    assert door.message == "door 'dunder': ForbiddenAttribute: attribute '__class__' is not allowed"
    assert door.door_uuid is not None and door.cell_uuid is None


async def test_a_computed_variable_name_silences_unset_reads(
    db: str, tmp_path: Path, media: MediaStore
):
    story = Story("Computed")
    story.node("Start", ("PYTHON", "key = 'x'\nvars[key] = 1\nprint(vars['y'])"), entry=True)
    graph = await imported(story, tmp_path, media)
    assert await lint_graph(graph, media.path_of) == []


async def test_audio_cells_without_a_file_or_with_a_missing_file(
    db: str, tmp_path: Path, media: MediaStore
):
    story = Story("Audio")
    tone = sound_bytes("WAV")
    audio_uuid, name, _ = add_audio(story, "tone", tone)
    start = story.node("Start", audio_cell(audio_uuid), audio_cell(audio_uuid), entry=True)
    story.edge(start, story.node("End", audio_cell(audio_uuid)))
    graph = await imported(story, tmp_path, media, {name: tone})
    assert await lint_graph(graph, media.path_of) == []
    first = await ScriptCell.filter(node__graph_id=graph.uuid, node__name="Start").first()
    assert first is not None
    await ScriptCell.filter(uuid=first.uuid).update(audio_cell_id=None)
    media.path_of(await AudioFile.get()).unlink()
    diagnostics = await lint_graph(graph, media.path_of)
    assert summary(diagnostics) == [("GC0008", "Start"), ("GC0009", "Start"), ("GC0009", "End")]
    assert diagnostics[0].message == "cell 1 (AUDIO): the audio cell has no audio file to play"
    assert diagnostics[1].message == "cell 2 (AUDIO): the audio file 'tone' is missing on disk"
    assert {d.severity for d in diagnostics} == {Severity.ERROR}
    assert await AudioCell.all().count() == 3


async def test_a_graph_without_an_entry_node(db: str, tmp_path: Path, media: MediaStore):
    graph = await imported(unreachable(), tmp_path, media)
    await graph.nodes.filter(is_entry_node=True).update(is_entry_node=False)
    diagnostics = await lint_graph(graph, media.path_of)
    assert summary(diagnostics) == [("GC0001", None)]
