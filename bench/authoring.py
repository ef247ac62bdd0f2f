"""How long the authoring tools take on a large graph, on an embedded SQLite database.

Run from the repository root: ``.venv/bin/python -m bench.authoring [--nodes N]``.
The graph is a chain of N nodes, each with a markdown cell reading a variable, a
Python cell that sets it, a SuperCollider cell and a door back to the previous
node that opens on the first visit only, so the dry run enters about 2N nodes.
Prints wall seconds for import, lint, dry run (and node entries per second) and export.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from gencaster.authoring.archive import export_archive, import_archive
from gencaster.authoring.lint import lint_graph
from gencaster.authoring.play import dry_run
from gencaster.cli import migrate_database
from gencaster.db import open_database
from gencaster.media import MediaStore
from gencaster.settings import Settings
from tests.authoring.support import NodeRef, Story, write_archive


def chain(nodes: int) -> Story:
    story = Story("Bench chain")
    previous: NodeRef | None = None
    for index in range(nodes):
        node = story.node(
            f"N{index}",
            ("MARKDOWN", f"Step {index}, {{var}}`v{index}|none`."),
            ("PYTHON", f"vars['v{index}'] = str(visits('N{index}'))"),
            ("SUPERCOLLIDER", f"Ndef(\\\\n{index}).play;"),
            entry=index == 0,
            x=float(index),
        )
        if previous is not None:
            story.edge(previous, node)
            back = story.door(node, "back", f"visits('N{index}') == 1 and {index} % 2 == 0")
            story.edge(back, previous)
        previous = node
    return story


async def timed(label: str, work: object) -> object:
    start = time.perf_counter()
    result = await work  # type: ignore[misc]
    print(f"{label:>8}: {time.perf_counter() - start:8.3f} s")
    return result


async def main(nodes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(data_dir=root, database_url=f"sqlite://{root / 'bench.sqlite3'}")
        await migrate_database(settings)
        media = MediaStore(root=root / "media")
        archive = write_archive(root / "chain.zip", chain(nodes).document(), {})
        async with open_database(settings.database_url):
            graph = await timed("import", import_archive(archive, media))
            found = await timed("lint", lint_graph(graph, media.path_of))  # type: ignore[arg-type]
            start = time.perf_counter()
            lines = await dry_run(graph, seed=1, answers={}, media=media, step_limit=10 * nodes)  # type: ignore[arg-type]
            took = time.perf_counter() - start
            entries = sum(line.startswith("enter ") for line in lines)
            print(f"{'play':>8}: {took:8.3f} s, {entries} node entries, {entries / took:.0f}/s")
            await timed("export", export_archive(graph, media, root / "out.gencaster"))  # type: ignore[arg-type]
        print(f"{nodes} nodes, {len(found)} diagnostic(s)")  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    asyncio.run(main(parser.parse_args().nodes))
