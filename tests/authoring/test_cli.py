"""``gencaster lint|play|graph`` as authors run them: real processes, embedded SQLite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.audio.conftest import sound_bytes
from tests.audio.test_cli import Finished, gencaster
from tests.authoring.support import Story, demo_story, write_archive

PLAY = ("play", "demo-story", "--seed", "7", "--answer", "name=Ada")
# Each command is a fresh interpreter (about 2 s idle, much more on a busy machine);
# every command is bounded by COMMAND_TIMEOUT, the test by this.
pytestmark = pytest.mark.timeout(900)


async def migrated(directory: Path) -> Path:
    await asyncio.to_thread(directory.mkdir)
    done = await gencaster(directory, "migrate")
    assert done.code == 0, done.stderr
    return directory


def ok(done: Finished) -> str:
    assert done.code == 0, done.stderr
    return done.stdout


@pytest.mark.asyncio
async def test_an_archive_travels_between_servers_and_plays_the_same(tmp_path: Path):
    here, there = await migrated(tmp_path / "here"), await migrated(tmp_path / "there")
    document, files = demo_story(sound_bytes("WAV"))
    archive = write_archive(tmp_path / "demo.gencaster", document, files)
    assert "Imported graph 'Demo story'" in ok(
        await gencaster(here, "graph", "import", str(archive))
    )
    assert json.loads(ok(await gencaster(here, "lint", "Demo story", "--json"))) == []
    first = ok(await gencaster(here, *PLAY))
    assert first == ok(await gencaster(here, *PLAY))
    assert "  answer name = 'Ada'" in first.splitlines()
    exported = tmp_path / "out" / "story.gencaster"
    ok(await gencaster(here, "graph", "export", "demo-story", "-o", str(exported)))
    ok(await gencaster(there, "graph", "import", str(exported)))
    assert ok(await gencaster(there, *PLAY)) == first
    clash = await gencaster(there, "graph", "import", str(exported))
    assert clash.code == 2
    assert "already exists on this server; import with --rename" in clash.stderr
    renamed = ok(await gencaster(there, "graph", "import", str(exported), "--rename"))
    assert "'Demo story (2)' (slug 'demo-story-2'" in renamed


@pytest.mark.asyncio
async def test_lint_exits_non_zero_on_errors_and_names_each_finding(tmp_path: Path):
    here = await migrated(tmp_path / "here")
    story = Story("Broken")
    start = story.node("Start", ("PYTHON", "import os"), entry=True)
    story.edge(start, story.node("End", ("MARKDOWN", "{var}`nobody`")))
    story.node("Island")
    ok(
        await gencaster(
            here, "graph", "import", str(write_archive(tmp_path / "b.zip", story.document(), {}))
        )
    )
    human = await gencaster(here, "lint", "broken")
    assert human.code == 1
    assert human.stdout.splitlines() == [
        "GC0004 error: node 'Start': cell 1 (PYTHON): ForbiddenSyntax: not allowed in the "
        "sandbox: import",
        "GC0006 warning: node 'End': cell 1 (MARKDOWN): reads the variable 'nobody', but no "
        "cell, dialog or wait for listener input ever sets it",
        "GC0002 warning: node 'Island': no path leads here from the entry node",
    ]
    assert "3 diagnostic(s), 1 error(s)" in human.stderr
    as_json = await gencaster(here, "lint", "Broken", "--json")
    assert as_json.code == 1
    assert [d["code"] for d in json.loads(as_json.stdout)] == ["GC0004", "GC0006", "GC0002"]
    missing = await gencaster(here, "lint", "no-such-graph")
    assert (missing.code, missing.stderr.strip()) == (
        2,
        "Error: No graph with uuid, slug or name 'no-such-graph'",
    )
