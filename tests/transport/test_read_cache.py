"""Which requests a graph read's answer is kept for, and how much is kept."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse

from gencaster.transport.read_cache import ENTRY_OVERHEAD, ReadCache, ReadKey, read_key

GRAPH = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"


def key_of(query: str, variables: dict[str, Any] | None = None, caller: str = "staff") -> Any:
    return read_key(
        parse(query), query=query, operation_name=None, variables=variables, caller=caller
    )


def test_a_graph_read_is_kept_under_its_graphs_and_caller() -> None:
    key = key_of("query($pk: ID!) { graph(pk: $pk) { uuid } }", {"pk": GRAPH})
    assert key is not None and key.graphs == (uuid.UUID(GRAPH),) and key.caller == "staff"
    aliased = key_of(f'{{ a: graph(pk: "{GRAPH}") {{ name }} b: graph(pk: "{OTHER}") {{ name }} }}')
    assert aliased is not None and aliased.graphs == (uuid.UUID(GRAPH), uuid.UUID(OTHER))


def test_callers_of_another_class_or_other_variables_get_another_key() -> None:
    query = "query($pk: ID!) { graph(pk: $pk) { uuid } }"
    keys = {
        key_of(query, {"pk": GRAPH}, "staff"),
        key_of(query, {"pk": GRAPH}, "user"),
        key_of(query, {"pk": GRAPH}, "anonymous"),
        key_of(query, {"pk": OTHER}, "staff"),
    }
    assert len(keys) == 4


def test_only_queries_whose_root_fields_all_read_a_graph_are_kept() -> None:
    refused = [
        f'mutation {{ deleteNode(nodeUuid: "{GRAPH}") }}',
        f'subscription {{ graph(graphUuid: "{GRAPH}") {{ uuid }} }}',
        f'{{ graph(pk: "{GRAPH}") {{ uuid }} streamPoints {{ uuid }} }}',
        f'{{ ...F }} fragment F on Query {{ graph(pk: "{GRAPH}") {{ uuid }} }}',
        f'{{ node(pk: "{GRAPH}") {{ uuid }} }}',
        '{ graph(pk: "not a uuid") { uuid } }',
        "{ isAuthenticated { username } }",
        "{ __typename }",
    ]
    for query in refused:
        assert key_of(query) is None, query
    assert key_of("query($pk: ID!) { graph(pk: $pk) { uuid } }", {}) is None


def _key(index: int) -> ReadKey:
    return ReadKey(f"request {index}", "staff", (uuid.uuid4(),))


def test_the_cache_keeps_at_most_its_bytes_and_drops_the_least_recent() -> None:
    body = b"x" * 1000
    per_entry = _key(0).size + len(body)
    cache = ReadCache(max_bytes=3 * per_entry)
    keys = [_key(index) for index in range(5)]
    cache.put(keys[0], (1,), body)
    cache.put(keys[1], (1,), body)
    cache.put(keys[2], (1,), body)
    assert cache.get(keys[0], (1,)) == body  # now the most recent
    cache.put(keys[3], (1,), body)
    cache.put(keys[4], (1,), body)
    assert len(cache) == 3 and cache.size <= cache.max_bytes
    assert [cache.get(key, (1,)) is not None for key in keys] == [True, False, False, True, True]


def test_an_answer_is_served_only_at_the_versions_it_was_made_at() -> None:
    cache = ReadCache(max_bytes=1_000_000)
    key = _key(0)
    cache.put(key, (3,), b"old")
    assert cache.get(key, (4,)) is None
    cache.put(key, (4,), b"new")
    assert cache.get(key, (4,)) == b"new" and cache.get(key, (3,)) is None
    assert len(cache) == 1 and cache.size == key.size + 3


def test_an_answer_larger_than_the_cache_is_not_kept() -> None:
    cache = ReadCache(max_bytes=ENTRY_OVERHEAD + 100)
    cache.put(_key(0), (1,), b"x" * 200)
    assert len(cache) == 0 and cache.size == 0


def test_of_the_apps_operations_the_editors_graph_read_is_kept() -> None:
    """Each operation as the apps send it (with the fragments): only GetGraph is kept."""
    fragments = (OPERATIONS / "fragments.graphql").read_text()
    kept = set()
    for path in sorted(OPERATIONS.glob("*.graphql")):
        if path.name == "fragments.graphql":
            continue
        text = path.read_text() + fragments
        for node in parse(text).definitions:
            if not isinstance(node, OperationDefinitionNode) or node.name is None:
                continue
            variables = {name.variable.name.value: GRAPH for name in node.variable_definitions}
            key = read_key(
                parse(text),
                query=text,
                operation_name=node.name.value,
                variables=variables,
                caller="staff",
            )
            if key is not None:
                assert node.operation == OperationType.QUERY
                kept.add(node.name.value)
    assert kept == {"GetGraph"}
