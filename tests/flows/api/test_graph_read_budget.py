"""A kept graph read costs a connection's budget little: it runs none of its fields."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import pytest
from graphql import OperationDefinitionNode, parse

from gencaster.auth import create_user
from gencaster.schema import schema
from gencaster.transport.http import KEPT_ANSWER_COST
from gencaster.transport.limits import measure_operation
from tests.conftest import STAFF_PASSWORD
from tests.support.builders import GRAPH, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


def cost_of(query: str) -> int:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    measure, _ = measure_operation(schema.graphql_schema, document, operation)
    return math.ceil(measure.cost)


async def test_a_connection_reads_a_kept_graph_far_more_often_than_its_budget_runs_it(
    server_with: Callable[..., Awaitable[RunningServer]],
) -> None:
    read = cost_of(GRAPH)
    assert read > 10 * KEPT_ANSWER_COST
    # Room for three reads that run, and a refill too slow to matter.
    room = 3 * read + 200
    server = await server_with(
        connection_cost_budget=room, max_query_cost=room, connection_cost_per_s=1
    )
    await create_user(username="budgeted", password=STAFF_PASSWORD, is_staff=True)
    async with GraphQLClient(server.graphql_url) as staff:
        await staff.login("budgeted", STAFF_PASSWORD)
        graph = (await add_graph(staff, "budgeted"))["uuid"]
        for _ in range(20):  # one runs, the rest are kept answers
            await staff.data(GRAPH, {"pk": graph})
        # After each change the read runs again, and pays its whole measure.
        codes = []
        for _ in range(4):
            await staff.execute(CHANGE, {"g": graph, "i": UNCHANGED})
            body = await staff.execute(GRAPH, {"pk": graph})
            codes += [error["extensions"]["code"] for error in body.get("errors", [])]
        assert "TOO_MANY_REQUESTS" in codes


CHANGE = (
    "mutation($g: UUID!, $i: UpdateGraphInput!) "
    "{ updateGraph(graphUuid: $g, graphInput: $i) { uuid } }"
)
UNCHANGED = {"streamAssignmentPolicy": "ONE_USER_ONE_STREAM", "templateName": "DEFAULT"}
