"""Root mutation fields run one after another; a failing one leaves none half-started."""

from __future__ import annotations

import gc
import uuid
import warnings

import pytest

from models import Graph
from tests.support.builders import graph_input
from tests.support.graphql import GraphQLClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

TWO_MUTATIONS = """
mutation($edge: EdgeInput!, $graph: AddGraphInput!) {
  first: addEdge(newEdge: $edge) { uuid }
  second: addGraph(graphInput: $graph) { uuid }
}"""


async def test_mutations_after_a_failed_non_null_one_are_never_started(
    staff: GraphQLClient, unique: str
):
    edge = {"nodeDoorInUuid": str(uuid.uuid4()), "nodeDoorOutUuid": str(uuid.uuid4())}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = await staff.execute(TWO_MUTATIONS, {"edge": edge, "graph": graph_input(unique)})
        gc.collect()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    assert not await Graph.filter(slug_name=f"graph-{unique}").exists()
    never_awaited = [w for w in caught if "was never awaited" in str(w.message)]
    assert never_awaited == []
