"""``graphDiagnostics``: the graph lint over real HTTP, for staff only."""

from __future__ import annotations

import pytest

from gencaster.authoring.document import create_graph
from tests.authoring.support import Story
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

DIAGNOSTICS = """query($g: UUID!) { graphDiagnostics(graphUuid: $g) {
  code severity message nodeUuid nodeName cellUuid doorUuid } }"""


async def broken_graph(unique: str) -> tuple[str, dict[str, str]]:
    story = Story(f"Lint {unique}")
    start = story.node("Start", ("MARKDOWN", "{shout}`hey`"), entry=True)
    end = story.node("End")
    story.edge(story.door(start, "never", "False", order=1), end)
    story.node("Island")
    graph = await create_graph(story.document(), {}, keep_ids=False, rename=False)
    nodes = {node.name: str(node.uuid) for node in await graph.nodes.all()}
    return str(graph.uuid), nodes


async def test_staff_get_the_graph_diagnostics(
    server: RunningServer, staff: GraphQLClient, unique: str
):
    graph_uuid, nodes = await broken_graph(unique)
    found = (await staff.data(DIAGNOSTICS, {"g": graph_uuid}))["graphDiagnostics"]
    assert [(d["code"], d["severity"], d["nodeName"]) for d in found] == [
        ("GC0007", "WARNING", "Start"),
        ("GC0011", "WARNING", "Start"),
        ("GC0002", "WARNING", "Island"),
    ]
    token, door, island = found
    assert token["message"].startswith("cell 1 (MARKDOWN): {shout} is not a token of the dialect")
    assert token["cellUuid"] is not None and token["doorUuid"] is None
    assert door["doorUuid"] is not None and door["nodeUuid"] == nodes["Start"]
    assert island == {
        "code": "GC0002",
        "severity": "WARNING",
        "message": "no path leads here from the entry node",
        "nodeUuid": nodes["Island"],
        "nodeName": "Island",
        "cellUuid": None,
        "doorUuid": None,
    }


async def test_an_unknown_or_invalid_graph_is_a_clear_error(
    server: RunningServer, staff: GraphQLClient, anonymous: GraphQLClient, unique: str
):
    assert await staff.error_codes(DIAGNOSTICS, {"g": "6e1b2c44-0000-4000-8000-000000000000"}) == [
        "NOT_FOUND"
    ]
    assert await staff.error_codes(DIAGNOSTICS, {"g": "not-a-uuid"}) == ["BAD_USER_INPUT"]
    graph_uuid, _ = await broken_graph(unique)
    assert await anonymous.error_codes(DIAGNOSTICS, {"g": graph_uuid}) == ["UNAUTHENTICATED"]
