"""The real editor on its own origin: build a graph through its UI while a second editor watches."""

from __future__ import annotations

from typing import Any

import pytest

from tests.peers.conftest import Peers
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.processes import STAFF_PASSWORD, STAFF_USER

pytestmark = [pytest.mark.peers, pytest.mark.asyncio(loop_scope="session")]

GRAPH = """query($pk: ID!) { graph(pk: $pk) { uuid name nodes { uuid name isEntryNode
  scriptCells { cellType cellCode } inNodeDoors { uuid } outNodeDoors { uuid name code } }
  edges { outNodeDoor { node { name } } inNodeDoor { node { name } } } } }"""
UI_WAIT_MS = 60_000  # a busy machine serves the apps' bundles slowly


async def _graph(staff: GraphQLClient, uuid: str) -> dict[str, Any]:
    return (await staff.data(GRAPH, {"pk": uuid}))["graph"]


async def _log_in(page: Any, origin: str) -> None:
    await page.goto(origin + "/", wait_until="networkidle")
    await page.locator(".el-dialog__title", has_text="Please log in").wait_for(timeout=UI_WAIT_MS)
    inputs = page.locator(".el-dialog input")
    await inputs.nth(0).fill(STAFF_USER)
    await inputs.nth(1).fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Login").click()
    await page.get_by_text("Select one of your Graphs").wait_for(timeout=UI_WAIT_MS)


async def _node(staff: GraphQLClient, graph: str, name: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        return next((n for n in (await _graph(staff, graph))["nodes"] if n["name"] == name), None)

    return await eventually(find, within=20, interval=0.1, message=f"node {name} never saved")


async def _add_cell(page: Any, label: str, text: str | None) -> None:
    cells = page.locator(".node-editor .cell")
    before = await cells.count()
    await page.get_by_role("button", name=label).click()
    await eventually(lambda: _more(cells, before), within=20, message=f"{label} added no cell")
    if text is not None:
        cell = cells.nth(before)
        editor = cell.locator(".ProseMirror, .cm-content").first
        await editor.click()
        await page.keyboard.type(text)
        await page.get_by_role("button", name="Save Node").click()


async def _more(locator: Any, before: int) -> bool:
    return await locator.count() > before


def _handle(page: Any, door_uuid: str) -> Any:
    return page.locator(f'.vue-flow__handle[data-handleid="{door_uuid}"]')


async def _drag(page: Any, source: Any, target: Any) -> None:
    start, end = await source.bounding_box(), await target.bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    await page.mouse.move(x1, y1, steps=15)
    await page.mouse.up()


async def test_an_editor_builds_a_graph_and_a_second_editor_sees_it(
    peers: Peers, browser: Any, staff: GraphQLClient
):
    first = await browser.new_context(viewport={"width": 1400, "height": 900})
    second = await browser.new_context(viewport={"width": 1400, "height": 900})
    page, watcher = await first.new_page(), await second.new_page()
    watches = [peers.watch(page, "editor"), peers.watch(watcher, "second editor")]
    try:
        await _log_in(page, peers.editor)
        await page.locator(".graph.new-one").click()
        await page.locator("#graphNameInput").fill("Peers graph")
        await page.get_by_role("button", name="Confirm").click()
        await page.wait_for_url("**/graph/*", timeout=UI_WAIT_MS)
        graph = page.url.split("/graph/")[1].strip("/").split("?")[0]
        await page.locator(".vue-flow__node").first.wait_for(timeout=UI_WAIT_MS)

        await _log_in(watcher, peers.editor)
        await watcher.goto(f"{peers.editor}/graph/{graph}", wait_until="networkidle")
        await watcher.locator(".vue-flow__node").first.wait_for(timeout=UI_WAIT_MS)

        await page.get_by_role("button", name="Add Node").click()
        dialog = page.locator(".el-dialog").filter(has_text="Create new node")
        await dialog.locator("input").fill("Second")
        await dialog.get_by_role("button", name="Create").click()
        second_node = await _node(staff, graph, "Second")
        seen = watcher.locator(".vue-flow__node", has_text="Second")
        await seen.wait_for(timeout=UI_WAIT_MS)

        # The new node lies under Start: move Start aside, then open the new node.
        start = next(n for n in (await _graph(staff, graph))["nodes"] if n["isEntryNode"])
        start_box = await page.locator(f'.vue-flow__node[data-id="{start["uuid"]}"]').bounding_box()
        await page.mouse.move(start_box["x"] + start_box["width"] / 2, start_box["y"] + 12)
        await page.mouse.down()
        await page.mouse.move(start_box["x"] + 300, start_box["y"] + 160, steps=10)
        await page.mouse.up()
        box = await page.locator(f'.vue-flow__node[data-id="{second_node["uuid"]}"]').bounding_box()
        await page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + 12)
        await page.locator(".node-editor .editor-header").wait_for(timeout=UI_WAIT_MS)

        await _add_cell(page, "+ Markdown", "Hallo {{ name }}")
        await _add_cell(page, "+ Python", "vars['seen'] = 'yes'")
        await _add_cell(page, "+ Supercollider", "{ SinOsc.ar(440) * 0.1 }.play;")
        await _add_cell(page, "+ Comment", None)

        async def saved_cells() -> list[str] | None:
            node = await _node(staff, graph, "Second")
            kinds = sorted(c["cellType"] for c in node["scriptCells"])
            codes = " ".join(c["cellCode"] for c in node["scriptCells"])
            done = kinds == ["COMMENT", "MARKDOWN", "PYTHON", "SUPERCOLLIDER"]
            return kinds if done and "vars['seen']" in codes and "SinOsc" in codes else None

        await eventually(saved_cells, within=30, interval=0.2, message="cells were not saved")

        await page.locator(".node-editor button.node-add").click()
        door_dialog = page.locator(".el-dialog").filter(has_text="Create new node exit")
        await door_dialog.locator("input").fill("later")
        await door_dialog.get_by_role("button", name="Create").click()

        async def door_saved() -> bool:
            node = await _node(staff, graph, "Second")
            return any(door["name"] == "later" for door in node["outNodeDoors"])

        await eventually(door_saved, within=20, interval=0.2, message="the exit door was not saved")
        await peers.shot(page, "editor-1-node-editor")
        await page.locator(".node-editor").get_by_role("button", name="Close").click()
        await page.locator(".node-editor").wait_for(state="hidden", timeout=UI_WAIT_MS)

        state = await _graph(staff, graph)
        start = next(n for n in state["nodes"] if n["isEntryNode"])
        out_door, in_door = start["outNodeDoors"][0]["uuid"], second_node["inNodeDoors"][0]["uuid"]
        await _drag(page, _handle(page, out_door), _handle(page, in_door))

        async def edges() -> list[tuple[str, str]]:
            found = (await _graph(staff, graph))["edges"]
            names = [(e["outNodeDoor"]["node"], e["inNodeDoor"]["node"]) for e in found]
            return [(out["name"], into["name"]) for out, into in names]

        assert await eventually(edges, within=20, interval=0.2) == [("Start", "Second")]
        await page.locator(".vue-flow__edge").first.wait_for(timeout=UI_WAIT_MS)
        await peers.shot(page, "editor-2-edge-drawn")
        await watcher.locator(".vue-flow__edge").first.wait_for(timeout=UI_WAIT_MS)
        await peers.shot(watcher, "editor-3-second-editor")
    finally:
        await first.close()
        await second.close()
    assert [problem for watch in watches for problem in watch.problems] == []
