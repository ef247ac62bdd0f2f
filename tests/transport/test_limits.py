"""What one operation and one connection may cost, checked before anything runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, get_introspection_query, parse, validate

from gencaster.schema import schema
from gencaster.transport.graphiql import STATIC_DIR
from gencaster.transport.limits import QueryLimits, limit_errors, limits_rule, measure_operation
from tests.support.builders import add_graph
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

live = pytest.mark.asyncio(loop_scope="session")

OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"


def nested(levels: int) -> str:
    """Node → NodeDoor → Node, ``levels`` times through both door lists.

    Each level is a fragment spreading the next one twice, so the text grows linearly
    while the work doubles with every level.
    """
    fragments = "fragment L0 on Node { uuid }"
    for level in range(1, levels + 1):
        below = f"node {{ ...L{level - 1} }}"
        fragments += (
            f" fragment L{level} on Node {{ inNodeDoors {{ {below} }} outNodeDoors {{ {below} }} }}"
        )
    return f"query {{ graphs {{ nodes {{ ...L{levels} }} }} }} {fragments}"


def _chain(fields: list[str]) -> str:
    query = "uuid"
    for name in reversed(fields):
        query = f"{name}{{{query}}}"
    return f"{{{query}}}"


# The shape of the reported attack: an anonymous GET of depth 17 through the door cycle.
DEEP_QUERY = _chain(["graphs", "nodes", *["inNodeDoors", "node"] * 7])


def _operations() -> list[tuple[str, Any, OperationDefinitionNode]]:
    fragments = (OPERATIONS / "fragments.graphql").read_text()
    found = []
    for path in sorted(OPERATIONS.glob("*.graphql")):
        if path.name == "fragments.graphql":
            continue
        document = parse(path.read_text() + "\n" + fragments)
        for node in document.definitions:
            if isinstance(node, OperationDefinitionNode) and node.name:
                found.append((node.name.value, document, node))
    return found


def graphiql_introspection_query() -> str:
    """The introspection query the vendored GraphiQL sends, built the same way."""
    bundle = (STATIC_DIR / "graphiql.min.js").read_text()
    fragment = re.search(r"fragment TypeRef on __Type \{[^`]*", bundle)
    assert fragment is not None, "GraphiQL's TypeRef fragment not found in its bundle"
    ours = get_introspection_query(descriptions=True)
    head = ours[: ours.index("fragment TypeRef on __Type")]
    return head + fragment.group(0).encode().decode("unicode_escape")


@pytest.mark.parametrize(("name", "document", "operation"), _operations())
def test_the_apps_operations_stay_well_inside_the_limits(
    name: str, document: Any, operation: OperationDefinitionNode
):
    limits = QueryLimits()
    measure, roots = measure_operation(schema.graphql_schema, document, operation)
    halved = QueryLimits(
        max_depth=limits.max_depth // 2,
        max_aliases=limits.max_aliases // 2,
        max_fields=limits.max_fields // 2,
        max_root_fields=limits.max_root_fields // 2,
        max_cost=limits.max_cost // 2,
    )
    assert limit_errors(halved, measure, roots) == [], name


def test_graphiql_introspection_fits_the_limits():
    document = parse(graphiql_introspection_query())
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    measure, roots = measure_operation(schema.graphql_schema, document, operation)
    assert limit_errors(QueryLimits(), measure, roots) == []


def test_fragments_count_where_they_are_spread():
    spreads = " ".join(f"a{index}: graphs {{ ...F }}" for index in range(10))
    query = f"query {{ {spreads} }} fragment F on Graph {{ nodes {{ scriptCells {{ uuid }} }} }}"
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    measure, roots = measure_operation(schema.graphql_schema, document, operation)
    assert roots == 10 and measure.aliases == 10
    assert measure.cost == 10 * (1 + 10 * (1 + 10 * (1 + 10)))


def test_page_sizes_from_arguments_and_variables_count():
    query = "query($p: OffsetPaginationInput) { audioFiles(pagination: $p) { uuid } }"
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    big, _ = measure_operation(
        schema.graphql_schema, document, operation, variables={"p": {"limit": 5000}}
    )
    default, _ = measure_operation(schema.graphql_schema, document, operation)
    assert big.cost == 1 + 5000 and default.cost == 1 + 10


async def _get(server: RunningServer, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(server.graphql_url, params={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def _limits_refused(body: dict[str, Any]) -> set[str]:
    assert body["data"] is None, body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_USER_INPUT"}
    return {error["extensions"]["limit"] for error in body["errors"]}


@live
async def test_a_deep_anonymous_get_is_refused_before_it_runs(server: RunningServer, staff):
    await add_graph(staff, "deep-get")
    assert len(DEEP_QUERY) < 500
    assert _limits_refused(await _get(server, DEEP_QUERY)) >= {"depth", "cost"}


@live
async def test_a_cycle_within_the_depth_limit_is_refused_by_its_cost(server: RunningServer):
    assert _limits_refused(await _get(server, nested(6))) == {"cost"}


@live
async def test_alias_and_root_field_floods_are_refused(server: RunningServer):
    aliases = " ".join(f"a{index}: isAuthenticated {{ username }}" for index in range(40))
    assert _limits_refused(await _get(server, f"{{ {aliases} }}")) == {"aliases", "rootFields"}


@live
async def test_a_fragment_spread_many_times_counts_every_time(server: RunningServer):
    fragments = "fragment A on Query { a: isAuthenticated { username } }"
    for level in range(1, 6):
        fragments += (
            f" fragment F{level} on Query {{ ...{_previous(level)} ...{_previous(level)} }}"
        )
    body = await _get(server, "{ ...F5 } " + fragments)
    # Overlapping aliases merge, so this is valid GraphQL: only the limits refuse it.
    assert "aliases" in _limits_refused(body)


def _previous(level: int) -> str:
    return "A" if level == 1 else f"F{level - 1}"


@live
async def test_graphiql_introspection_still_works(server: RunningServer):
    body = await _get(server, graphiql_introspection_query())
    assert "errors" not in body, body.get("errors")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


@live
async def test_websocket_operations_are_measured_too(server: RunningServer):
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        async with graphql_socket(server.ws_url, protocol) as ws:
            operation_id = await ws.subscribe(DEEP_QUERY)
            message = await ws.receive_for(operation_id)
            assert message["type"] == "error", message
            errors = (
                message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
            )
            assert {error["extensions"]["code"] for error in errors} == {"BAD_USER_INPUT"}


def test_the_limits_are_a_graphql_core_validation_rule():
    document = parse(DEEP_QUERY)
    costs: dict[str | None, int] = {}
    errors = validate(schema.graphql_schema, document, [limits_rule(QueryLimits(), None, costs)])
    assert {error.extensions["limit"] for error in errors} >= {"depth", "cost"}
    assert costs[None] > QueryLimits().max_cost


async def _post(server: RunningServer, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            server.graphql_url, json={"query": query, "variables": variables}
        )
    assert response.status_code == 200, response.text
    return response.json()


@live
async def test_a_document_seen_before_is_still_measured_with_each_requests_variables(
    server: RunningServer,
):
    """Documents are parsed and validated once; their cost still follows the variables."""
    query = "query($p: OffsetPaginationInput) { audioFiles(pagination: $p) { uuid } }"
    small = await _post(server, query, p={"limit": 5})
    # Admitted: the resolver itself answers (staff only).
    assert [error["extensions"]["code"] for error in small["errors"]] == ["UNAUTHENTICATED"]
    assert _limits_refused(await _post(server, query, p={"limit": 10**6})) == {"cost"}
    again = await _post(server, query, p={"limit": 5})
    assert again == small


@live
async def test_a_broken_document_is_refused_the_same_way_every_time(server: RunningServer):
    first, second = [await _post(server, "query { audioFiles { uuid }") for _ in range(2)]
    assert first == second
    assert first["data"] is None
    assert first["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Syntax Error" in first["errors"][0]["message"]
