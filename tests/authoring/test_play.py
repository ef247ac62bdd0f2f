"""``gencaster play``: the real engine walks a graph with no SuperCollider, repeatably."""

from __future__ import annotations

from pathlib import Path

import pytest

from gencaster.authoring.archive import import_archive
from gencaster.authoring.play import dry_run
from gencaster.media import MediaStore
from gencaster.stream_variables import VariableLimits
from models import Graph, Stream, StreamInstruction, StreamVariable
from tests.audio.conftest import sound_bytes
from tests.authoring.support import Story, demo_story, write_archive

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def import_demo(tmp_path: Path, media: MediaStore) -> Graph:
    document, files = demo_story(sound_bytes("WAV"))
    return await import_archive(write_archive(tmp_path / "demo.zip", document, files), media)


async def test_the_walk_shows_each_step_and_the_final_state(
    db: str, tmp_path: Path, media: MediaStore
):
    graph = await import_demo(tmp_path, media)
    lines = await dry_run(graph, seed=1, answers={"name": "Ada"}, media=media)
    assert lines[:12] == [
        "play 'Demo story' with seed 1",
        "enter 'Start' (visit 1)",
        "  cell 1 MARKDOWN",
        '  speech (default): <speak><p>Welcome, listener. <break time="300ms"/></p></speak>',
        '  instruction: {g.syncPlayBuffer("/data/speech/325e4a4ac6d6483f.wav", "<id>")}',
        "  cell 2 PYTHON",
        "  dialog 'Hello': input 'name' ('Your name'); button 'OK' sets 'ok' = 'ok'",
        "  answer name = 'Ada'",
        "  wait for name: 'Ada'",
        "  door 'named' (vars.get('name', '') != ''): True",
        "  take door 'named'",
        "  edge to 'Named'",
    ]
    assert "enter 'Loop' (visit 2)" in lines
    assert "  door 'again' (visits('Loop') < 2): False" in lines
    assert "held at blocking node 'End': a listener stays here" in lines
    state = lines[lines.index("variables:") :]
    assert state[:3] == ["variables:", "  greeted = 'yes'", "  name = 'Ada'"]
    assert state[state.index("visits:") :][:5] == [
        "visits:",
        "  'Start': 1",
        "  'End': 1",
        "  'Fork': 1",
        f"  'Left': {int(any('edge to ' + repr('Left') in line for line in lines))}",
    ]
    assert "  'Loop': 2" in state


async def test_a_dry_run_writes_nothing_to_the_database(db: str, tmp_path: Path, media: MediaStore):
    graph = await import_demo(tmp_path, media)
    await dry_run(graph, seed=3, answers={}, media=media)
    assert await Stream.all().count() == 0
    assert await StreamInstruction.all().count() == 0
    assert await StreamVariable.all().count() == 0


async def test_the_same_seed_and_answers_give_the_same_walk_byte_for_byte(
    db: str, tmp_path: Path, media: MediaStore
):
    graph = await import_demo(tmp_path, media)
    runs = [await dry_run(graph, seed=42, answers={"name": "Bo"}, media=media) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    unanswered = await dry_run(graph, seed=42, answers={}, media=media)
    assert "  wait for name: no answer (the wait times out)" in unanswered
    assert unanswered != runs[0]


async def test_different_seeds_take_different_random_edges(
    db: str, tmp_path: Path, media: MediaStore
):
    graph = await import_demo(tmp_path, media)
    branches = set()
    for seed in range(12):
        lines = await dry_run(graph, seed=seed, answers={}, media=media)
        branches.add(
            next(line for line in lines if line in ("  edge to 'Left'", "  edge to 'Right'"))
        )
    assert branches == {"  edge to 'Left'", "  edge to 'Right'"}


async def test_random_in_cells_follows_the_seed(db: str, tmp_path: Path, media: MediaStore):
    story = Story("Dice")
    story.node("Start", ("PYTHON", "vars['dice'] = random.randint(1, 10**9)"), entry=True)
    graph = await import_archive(write_archive(tmp_path / "d.zip", story.document(), {}), media)

    async def dice(seed: int) -> str:
        lines = await dry_run(graph, seed=seed, answers={}, media=media)
        return next(line for line in lines if line.startswith("  dice = "))

    assert await dice(5) == await dice(5)
    assert await dice(5) != await dice(6)


async def test_an_endless_loop_stops_at_the_step_limit(db: str, tmp_path: Path, media: MediaStore):
    story = Story("Spin")
    start = story.node("Start", ("PYTHON", "vars['n'] = visits('Start')"), entry=True)
    story.edge(start, start)
    graph = await import_archive(write_archive(tmp_path / "s.zip", story.document(), {}), media)
    lines = await dry_run(graph, seed=0, answers={}, media=media, step_limit=5)
    assert lines.count("enter 'Start' (visit 5)") == 1
    assert "end: The story took too many steps" in lines
    assert lines[-3:] == ["  n = '5'", "visits:", "  'Start': 5"]


async def test_a_variable_over_the_limits_fails_its_cell_as_on_a_stream(
    db: str, tmp_path: Path, media: MediaStore
):
    story = Story("Big")
    story.node(
        "Start",
        ("PYTHON", "vars['small'] = 'fits'"),
        ("PYTHON", "vars['big'] = 'b' * 10000\nvars['lost'] = 'too'"),
        ("PYTHON", "for i in range(3):\n    vars[f'k{i}'] = i"),
        entry=True,
    )
    graph = await import_archive(write_archive(tmp_path / "b.zip", story.document(), {}), media)
    lines = await dry_run(
        graph, seed=0, answers={}, media=media, limits=VariableLimits(max_per_stream=3)
    )
    assert "  cell failed: The value of 'big' is larger than 4096 bytes" in lines
    assert "  cell failed: A stream holds at most 3 variables" in lines
    state = lines[lines.index("variables:") : lines.index("visits:")]
    assert state == ["variables:", "  small = 'fits'"]  # a refused cell stores none of its changes
