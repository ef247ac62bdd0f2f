"""The worst sandbox code we know, as a story graph: for the exhaustion test and its bench.

Each cell once held the event loop for seconds or for ever inside one C call; a listener
walking this graph shows whether the server still answers everyone else meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.graphql import GraphQLClient
from tests.support.ws import GraphQLSocket

BIG = "t = (0,) * 100000\n"
WORST_CELLS = [
    BIG + "x = {(t,) * 10000}",
    BIG + "v = (t,) * 10000\nx = {(v,) * 10000}",
    BIG + "x = {(t,) * 10000: 1}",
    BIG + "x = ((t,) * 10000).count((0,) * 100000)",
    "s = set()\ns.update(*[range(i * 10**5, (i + 1) * 10**5) for i in range(100)])",
    "x = [0]\nwhile True:\n    x[0:0] = x",
    "while True:\n    pass",
    "while True:\n    yield",
    "while True:\n    await asyncio.sleep(0)\n    x = sorted(range(10**5), key=lambda v: -v)",
]
WORST_MARKDOWN = "Hello {python_exec}`x = {(((0,) * 100000,) * 10000,)}` there"
WORST_DOOR = "len({(((0,) * 100000,) * 10000,)}) > 0"
DIALOG_FLOOD = "for i in range(500):\n    yield Dialog(title=f'dialog {i}')"
FLOOD_SEEN = 25  # dialogs a listener takes from the flood before it leaves


async def build_attack_graph(staff: GraphQLClient, name: str) -> dict[str, Any]:
    """Start: the worst cells and a markdown token; a door over to Flood, which floods."""
    graph = await add_graph(staff, name)
    start = graph["nodes"][0]
    cells = [{"cellType": "PYTHON", "cellCode": code} for code in WORST_CELLS]
    cells.append({"cellType": "MARKDOWN", "cellCode": WORST_MARKDOWN})
    await add_cells(staff, start["uuid"], cells)
    door = await add_door(staff, start["uuid"], name="heavy", code=WORST_DOOR)
    flood = await add_node(staff, graph["uuid"], "Flood")
    await add_cells(staff, flood["uuid"], [{"cellType": "PYTHON", "cellCode": DIALOG_FLOOD}])
    await connect(staff, default_door(start, "out"), default_door(flood, "in"))
    await connect(staff, door, default_door(flood, "in"))
    return graph


STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on Dialog { title } ... on NoStreamAvailable { error } } }"""


async def walk_attack(socket: GraphQLSocket, graph_uuid: str, attempts: int = 100) -> list[str]:
    """Listen until the flood has shown ``FLOOD_SEEN`` dialogs, then leave; the titles seen."""
    for _ in range(attempts):
        op = await socket.subscribe(STREAM_INFO, {"g": graph_uuid})
        titles: list[str] = []
        while (message := await socket.receive_for(op, timeout=120))["type"] in ("next", "data"):
            item = message["payload"]["data"]["streamInfo"]
            if item["__typename"] == "Dialog":
                titles.append(item["title"])
                if len(titles) == FLOOD_SEEN:
                    await socket.stop(op)
                    return titles
        await asyncio.sleep(0.2)  # no stream yet: the point's first beacon is on its way
    raise AssertionError("no stream became available")
