"""A number no read could serialize back (infinity) is refused where it comes in.

A Float literal like ``1e309`` coerces to infinity; stored, it made every later read
of the graph fail, for every caller, until someone repaired the row.
"""

from __future__ import annotations

import pytest

from tests.support.builders import add_graph, get_graph
from tests.support.graphql import GraphQLClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

HUGE_LITERALS = ["1e309", "-1e309", "1" + "0" * 400, "-1" + "0" * 400, "1.5e99999"]


@pytest.mark.parametrize("literal", HUGE_LITERALS)
async def test_add_node_with_an_infinite_position_is_refused(
    staff: GraphQLClient, unique: str, literal: str
):
    graph = await add_graph(staff, unique)
    mutation = (
        f'mutation {{ addNode(newNode: {{name: "far", graphUuid: "{graph["uuid"]}", '
        f"positionX: {literal}}}) }}"
    )
    assert await staff.error_codes(mutation) == ["BAD_USER_INPUT"]
    assert [node["name"] for node in (await get_graph(staff, graph["uuid"]))["nodes"]] == ["Start"]


@pytest.mark.parametrize("literal", HUGE_LITERALS[:2])
async def test_update_node_refuses_infinity_too(staff: GraphQLClient, unique: str, literal: str):
    graph = await add_graph(staff, unique)
    node = graph["nodes"][0]["uuid"]
    mutation = f'mutation {{ updateNode(nodeUpdate: {{uuid: "{node}", positionY: {literal}}}) }}'
    assert await staff.error_codes(mutation) == ["BAD_USER_INPUT"]
    read = await get_graph(staff, graph["uuid"])  # the graph still reads
    assert read["nodes"][0]["uuid"] == node


async def test_infinity_in_json_variables_is_refused(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    body = (
        '{"query": "mutation($n: NodeCreate!) { addNode(newNode: $n) }", "variables": '
        f'{{"n": {{"name": "far", "graphUuid": "{graph["uuid"]}", "positionX": 1e999}}}}}}'
    )
    response = await staff.http.post(
        staff.url, content=body, headers={"Content-Type": "application/json"}
    )
    codes = [error["extensions"]["code"] for error in response.json()["errors"]]
    assert codes == ["BAD_USER_INPUT"]
    assert len((await get_graph(staff, graph["uuid"]))["nodes"]) == 1
