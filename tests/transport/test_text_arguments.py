"""Text arguments the database cannot store, or too long for their field, are refused once.

The same answers on SQLite and PostgreSQL, before any resolver runs: ``BAD_USER_INPUT``,
or for a login the usual "Wrong credentials". The log never holds the input in full.
"""

from __future__ import annotations

import logging

import pytest

from gencaster.auth import SESSION_COOKIE
from models import Graph, ScriptCell
from tests.support.builders import ADD_GRAPH, add_graph, graph_input
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRONG = {"__typename": "LoginError", "errorMessage": "Wrong credentials"}
LOGIN_LITERAL = (
    'mutation { authLogin(username: "adm\\u0000in", password: "x") '
    "{ __typename ... on LoginError { errorMessage } } }"
)
HUGE = "x" * 1_000_000


def _assert_log_bounded(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert len(record.getMessage()) < 20_000, record.getMessage()[:200]
        assert "Traceback" not in record.getMessage()


async def test_nul_in_a_login_literal_is_wrong_credentials(
    anonymous: GraphQLClient, caplog: pytest.LogCaptureFixture
):
    body = await anonymous.execute(LOGIN_LITERAL)
    assert body == {"data": {"authLogin": WRONG}}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("adm\0in", "password-123"),
        ("adm\ud800in", "password-123"),
        ("admin", "pass\ud800word"),
        ("admin", "pass\0word"),
        (HUGE, "password-123"),
        ("admin", HUGE),
        ("", "password-123"),
    ],
    ids=[
        "nul",
        "surrogate",
        "surrogate-password",
        "nul-password",
        "long-name",
        "long-password",
        "empty",
    ],
)
async def test_unusable_credentials_answer_wrong_credentials(
    anonymous: GraphQLClient, caplog: pytest.LogCaptureFixture, username: str, password: str
):
    caplog.set_level(logging.DEBUG)
    assert await anonymous.login(username, password) == WRONG
    assert SESSION_COOKIE not in anonymous.http.cookies
    _assert_log_bounded(caplog)


@pytest.mark.parametrize(
    "name", ["with\0nul", "lone\udc00surrogate", "n" * 256], ids=["nul", "surrogate", "too-long"]
)
async def test_add_graph_refuses_unstorable_or_over_long_names(
    staff: GraphQLClient, unique: str, name: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    codes = await staff.error_codes(ADD_GRAPH, {"input": graph_input(unique, name=name)})
    assert codes == ["BAD_USER_INPUT"]
    assert not await Graph.filter(slug_name=f"graph-{unique}").exists()
    _assert_log_bounded(caplog)


async def test_the_column_length_itself_is_accepted(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique, name=unique + "n" * (255 - len(unique)))
    assert len(graph["name"]) == 255


async def test_nul_in_a_literal_inside_an_input_object_is_refused(
    staff: GraphQLClient, unique: str
):
    query = (
        'mutation { addGraph(graphInput: {name: "a\\u0000b", displayName: "d", '
        f'slugName: "s-{unique}", streamAssignmentPolicy: ONE_USER_ONE_STREAM, '
        "templateName: DEFAULT}) { uuid } }"
    )
    assert await staff.error_codes(query) == ["BAD_USER_INPUT"]


async def test_nested_lists_of_inputs_are_checked(staff: GraphQLClient, unique: str):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    create = (
        "mutation($cells: [ScriptCellInputCreate!]!, $node: UUID!) "
        "{ createScriptCells(scriptCellInputs: $cells, nodeUuid: $node) { uuid } }"
    )
    fine = {"cellType": "COMMENT", "cellCode": "fine", "cellOrder": 0}
    for bad_code in ("a\0b", "x" * 200_001):
        cells = [fine, {**fine, "cellCode": bad_code, "cellOrder": 1}]
        codes = await staff.error_codes(create, {"cells": cells, "node": node_uuid})
        assert codes == ["BAD_USER_INPUT"]
    assert not await ScriptCell.filter(node_id=node_uuid).exists()


async def test_an_over_long_slug_filter_is_refused_and_not_logged_in_full(
    anonymous: GraphQLClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    query = "query($s: String!) { graphs(filters: {slugName: {exact: $s}}) { uuid } }"
    assert await anonymous.error_codes(query, {"s": HUGE}) == ["BAD_USER_INPUT"]
    assert await anonymous.error_codes(query, {"s": "nul\0"}) == ["BAD_USER_INPUT"]
    _assert_log_bounded(caplog)


async def test_ids_with_nul_are_refused(anonymous: GraphQLClient):
    assert await anonymous.error_codes('{ graph(pk: "a\\u0000") { uuid } }') in (
        ["BAD_USER_INPUT"],
        ["UNAUTHENTICATED"],  # the staff rule may answer first: either way no server error
    )


async def test_the_websocket_transport_checks_the_same(
    server: RunningServer, staff: GraphQLClient, unique: str
):
    token = staff.http.cookies[SESSION_COOKIE]
    async with graphql_socket(server.ws_url, cookies={SESSION_COOKIE: token}) as socket:
        operation = await socket.subscribe(
            "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid } }",
            {"i": graph_input(unique, name="nul\0")},
        )
        message = await socket.receive_for(operation)
    assert message["type"] == "error", message
    assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
    assert not await Graph.filter(slug_name=f"graph-{unique}").exists()
