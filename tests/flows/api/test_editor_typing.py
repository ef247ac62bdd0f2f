"""What the editor sends while someone types is stored or refused cleanly, never a 500.

The editor saves a new cell or door before anything is typed (``cellCode: ""``,
``code: ""``) and saves again while someone types, so half-written code arrives all
the time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import STAFF_PASSWORD
from tests.support.builders import add_graph, get_graph
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

CREATE_CELLS = """mutation($n: UUID!, $c: [ScriptCellInputCreate!]!) {
  createScriptCells(nodeUuid: $n, scriptCellInputs: $c) { uuid cellType cellCode } }"""
UPDATE_CELLS = """mutation($c: [ScriptCellInputUpdate!]!) {
  updateScriptCells(scriptCellInputs: $c) { uuid cellCode } }"""
CREATE_DOOR = """mutation($n: UUID!, $d: NodeDoorInputCreate!) {
  createNodeDoor(nodeUuid: $n, nodeDoorInput: $d) { uuid code } }"""
UPDATE_DOOR = """mutation($d: NodeDoorInputUpdate!) { updateNodeDoor(nodeDoorInput: $d) {
  __typename ... on NodeDoor { code } ... on InvalidPythonCode { errorType errorMessage } } }"""
DELETE_DOOR = "mutation($d: UUID!) { deleteNodeDoor(nodeDoorUuid: $d) }"

# What an author's keyboard produces on the way to a working cell.
TYPED = ["", " ", "\n\n", "\t \n", "# todo", "# a\n  # b\n", "x =", "if x:", "await", "'''"]


def _door(code: str) -> dict[str, Any]:
    return {"name": "exit", "doorType": "OUTPUT", "order": 1, "code": code}


async def _start_node(staff: GraphQLClient, unique: str) -> str:
    return (await add_graph(staff, unique))["nodes"][0]["uuid"]


@pytest.mark.parametrize("code", ["", "   ", "\n\t\n", "# just a comment", "# a\n\n# b\n"])
async def test_empty_blank_and_comment_only_python_cells_are_stored(
    staff: GraphQLClient, unique: str, code: str
):
    node = await _start_node(staff, unique)
    [cell] = (
        await staff.data(CREATE_CELLS, {"n": node, "c": [{"cellType": "PYTHON", "cellCode": code}]})
    )["createScriptCells"]
    assert cell["cellCode"] == code
    [updated] = (await staff.data(UPDATE_CELLS, {"c": [{"uuid": cell["uuid"], "cellCode": code}]}))[
        "updateScriptCells"
    ]
    assert updated["cellCode"] == code


async def test_a_python_cell_emptied_while_typing_is_stored(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    node = graph["nodes"][0]["uuid"]
    [cell] = (
        await staff.data(
            CREATE_CELLS, {"n": node, "c": [{"cellType": "PYTHON", "cellCode": "x = 1"}]}
        )
    )["createScriptCells"]
    await staff.data(UPDATE_CELLS, {"c": [{"uuid": cell["uuid"], "cellCode": ""}]})
    [start] = (await get_graph(staff, graph["uuid"]))["nodes"]
    assert [c["cellCode"] for c in start["scriptCells"]] == [""]


@pytest.mark.parametrize("code", ["", "  ", "# opens later"])
async def test_doors_with_empty_code_are_created_and_updated(
    staff: GraphQLClient, unique: str, code: str
):
    node = await _start_node(staff, unique)
    door = (await staff.data(CREATE_DOOR, {"n": node, "d": _door(code)}))["createNodeDoor"]
    assert door["code"] == code
    updated = (await staff.data(UPDATE_DOOR, {"d": {"uuid": door["uuid"], "code": code}}))[
        "updateNodeDoor"
    ]
    assert updated == {"__typename": "NodeDoor", "code": code}


async def test_door_code_that_does_not_parse_is_still_refused(staff: GraphQLClient, unique: str):
    node = await _start_node(staff, unique)
    assert await staff.error_codes(CREATE_DOOR, {"n": node, "d": _door("x ==")}) == [
        "BAD_USER_INPUT"
    ]


async def test_deleting_an_unknown_or_already_deleted_door_is_false(
    staff: GraphQLClient, unique: str
):
    node = await _start_node(staff, unique)
    door = (await staff.data(CREATE_DOOR, {"n": node, "d": _door("True")}))["createNodeDoor"]
    assert (await staff.data(DELETE_DOOR, {"d": door["uuid"]}))["deleteNodeDoor"] is True
    assert (await staff.data(DELETE_DOOR, {"d": door["uuid"]}))["deleteNodeDoor"] is False
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await staff.data(DELETE_DOOR, {"d": unknown}))["deleteNodeDoor"] is False


# Any text at all ------------------------------------------------------------------

# Every character, NUL and lone surrogates included: text no database can store is
# refused like any other bad input.
ANY_CHARACTER = st.characters(exclude_categories=())
CODE_TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=80),
    st.sampled_from(TYPED),
    st.lists(
        st.sampled_from(
            ["x", " = ", "1", "(", ")", ":", "\n", "    ", "yield ", "await ", "vars", "[", "]",
             "'", '"', "#", "lambda", ".", "__class__", "{", "}", "**", "\\", "\t", "é",
             "\x00", "\ud800"]
        ),
        max_size=12,
    ).map("".join),
)  # fmt: skip


def _outcome(response: httpx.Response, field: str) -> str:
    """'ok', 'refused' (BAD_USER_INPUT) or a description of what went wrong."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    body = response.json()
    errors = body.get("errors")
    if not errors:
        return "ok" if body["data"][field] is not None else f"no data: {body}"
    codes = [error.get("extensions", {}).get("code") for error in errors]
    return "refused" if codes == ["BAD_USER_INPUT"] else f"errors: {errors}"


def _any_text_is_stored_or_refused(
    url: str, username: str, *, node: str, cell: str, door: str
) -> None:
    """Runs Hypothesis in a worker thread with a blocking client; the server keeps serving."""
    with httpx.Client(timeout=60) as http:
        login = http.post(
            url,
            json={
                "query": "mutation($u: String!, $p: String!) "
                "{ authLogin(username: $u, password: $p) { __typename } }",
                "variables": {"u": username, "p": STAFF_PASSWORD},
            },
        )
        assert login.json()["data"]["authLogin"]["__typename"] == "User"

        def send(query: str, variables: dict[str, Any]) -> httpx.Response:
            # JSON with \u escapes, as browsers send it: lone surrogates travel too.
            body = json.dumps({"query": query, "variables": variables})
            return http.post(url, content=body, headers={"content-type": "application/json"})

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(code=CODE_TEXT, cell_type=st.sampled_from(["PYTHON", "MARKDOWN", "SUPERCOLLIDER"]))
        def check(code: str, cell_type: str) -> None:
            created = send(
                CREATE_CELLS, {"n": node, "c": [{"cellType": cell_type, "cellCode": code}]}
            )
            assert _outcome(created, "createScriptCells") in ("ok", "refused"), code
            updated = send(UPDATE_CELLS, {"c": [{"uuid": cell, "cellCode": code}]})
            assert _outcome(updated, "updateScriptCells") in ("ok", "refused"), code
            door_created = send(CREATE_DOOR, {"n": node, "d": _door(code)})
            assert _outcome(door_created, "createNodeDoor") in ("ok", "refused"), code
            door_updated = send(UPDATE_DOOR, {"d": {"uuid": door, "code": code}})
            assert _outcome(door_updated, "updateNodeDoor") in ("ok", "refused"), code

        check()


async def test_any_text_in_any_code_field_is_stored_or_refused(
    server: RunningServer, staff: GraphQLClient, unique: str
):
    node = await _start_node(staff, unique)
    [cell] = (
        await staff.data(CREATE_CELLS, {"n": node, "c": [{"cellType": "PYTHON", "cellCode": ""}]})
    )["createScriptCells"]
    door = (await staff.data(CREATE_DOOR, {"n": node, "d": _door("")}))["createNodeDoor"]
    await asyncio.to_thread(
        _any_text_is_stored_or_refused,
        server.graphql_url,
        f"staff-{unique}",  # the ``staff`` fixture's user
        node=node,
        cell=cell["uuid"],
        door=door["uuid"],
    )
