"""The real listener app on its own origin: through a dialog to the end screen.

Sound comes from ``gencaster fake-stream-point``, which beacons to the server and
acknowledges instructions as SuperCollider does. The app's audio client (Janus, and a
script it loads from a CDN) has no server here, so its errors are not the server's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.peers.conftest import Peers
from tests.support.builders import add_cells
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.processes import ROOT
from tests.support.server import free_port

pytestmark = [pytest.mark.peers, pytest.mark.asyncio(loop_scope="session")]

# The Janus client posts to its server, loads webrtc-adapter from a CDN and then fails
# on its missing session ("Cannot read properties of null (reading 'send')").
NO_JANUS = ("/janus", "Janus", "webrtc-adapter", "reading 'send'")
UI_WAIT_MS = 60_000  # a busy machine serves the apps' bundles slowly
DIALOG_CELL = """\
yield Dialog(title="Bereit?", content=[Input(key="answer", label="Antwort")],
             buttons=[Button.ok(key="answer", value="yes")])
vars["heard"] = await wait_for_stream_variable("answer", timeout=60)"""


async def _story(staff: GraphQLClient) -> str:
    slug = f"peers-{uuid.uuid4().hex[:8]}"
    graph = (
        await staff.data(
            "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { nodes { uuid } } }",
            {
                "i": {
                    "name": f"Hörspiel {slug}",
                    "displayName": f"Hörspiel {slug}",
                    "slugName": slug,
                    "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                    "templateName": "DEFAULT",
                    "publicVisible": True,
                    "startText": "Willkommen",
                    "endText": "Das war's",
                }
            },
        )
    )["addGraph"]
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "SUPERCOLLIDER", "cellCode": "1 + 1"},
            {"cellType": "PYTHON", "cellCode": DIALOG_CELL},
        ],
    )
    return slug


def _fake_point(osc_port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gencaster.cli", "fake-stream-point"]
    options = ["--server-port", str(osc_port), "--lang-port", str(free_port())]
    return subprocess.Popen(
        [*command, *options, "--beacon-interval", "0.5"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_listener_answers_a_dialog_and_reaches_the_end_screen(
    peers: Peers, browser: Any, staff: GraphQLClient
):
    slug = await _story(staff)
    point = _fake_point(peers.osc_port)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    watch = peers.watch(page, "listener", ignore=NO_JANUS)
    try:

        async def live_points() -> list[Any]:
            return (await staff.data("{ streamPoints { port lastLive } }"))["streamPoints"]

        await eventually(live_points, within=30, interval=0.2, message="no stream point beaconed")
        await page.goto(peers.front + "/", wait_until="networkidle")
        await page.get_by_role("button", name=f"Hörspiel {slug}").click()
        await peers.shot(page, "listener-1-listen-page")
        await page.wait_for_url(f"**/listen/{slug}**", timeout=UI_WAIT_MS)
        dialog = page.locator(".el-dialog", has_text="Bereit?")
        await dialog.wait_for(timeout=UI_WAIT_MS)
        await dialog.locator("input").first.fill("ja")
        await peers.shot(page, "listener-2-dialog")
        await dialog.get_by_role("button", name="OK").click()
        await dialog.wait_for(state="hidden", timeout=UI_WAIT_MS)
        start = page.get_by_role("button", name="Start")
        if await start.is_visible():
            await start.click()
        await page.get_by_text("Das war's").wait_for(timeout=UI_WAIT_MS)
        await peers.shot(page, "listener-3-end-screen")
    finally:
        await context.close()
        point.terminate()
        await asyncio.to_thread(point.wait, 30)
    assert watch.problems == []
    assert watch.graphql_operations > 0
