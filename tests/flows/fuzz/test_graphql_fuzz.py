"""Operations generated from the schema itself, valid and invalid, over real HTTP.

Whatever is asked, by a staff user or by nobody: never a 5xx, never an
INTERNAL_SERVER_ERROR, every error with a code, and no traceback in the server's log.
"""

from __future__ import annotations

import json

import httpx
from graphql import GraphQLSchema
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from gencaster.schema import schema as gencaster_schema
from tests.flows.fuzz.conftest import FUZZ, FuzzServer

SCHEMA: GraphQLSchema = gencaster_schema.graphql_schema
SCALARS = {
    "UUID": st.uuids().map(nodes.String),
    "DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat() + "+00:00")),
    "Upload": st.just(nodes.Null),
    "Void": st.just(nodes.Null),
}
OPERATIONS = st.one_of(
    queries(SCHEMA, custom_scalars=SCALARS),
    mutations(SCHEMA, custom_scalars=SCALARS),
    queries(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    mutations(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
)


def assert_answered_cleanly(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:2000]
    body = response.json()
    for error in body.get("errors") or []:
        code = error.get("extensions", {}).get("code")
        assert code and code != "INTERNAL_SERVER_ERROR", (error, response.request.content[:2000])


@FUZZ
@given(query=OPERATIONS, staff=st.booleans())
def test_generated_operations_never_fail_the_server(
    fuzz_server: FuzzServer, query: str, staff: bool
):
    with httpx.Client(timeout=60, cookies=fuzz_server.cookies(staff)) as http:
        response = http.post(
            fuzz_server.url,
            content=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
    assert_answered_cleanly(response)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=512),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries(
            {"query": st.text(max_size=200)},
            optional={"variables": JSON_VALUES, "operationName": JSON_VALUES},
        ).map(lambda value: json.dumps(value).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "Application/JSON; charset=UTF-8", "text/plain", "multipart/form-data"]
    ),
)
def test_arbitrary_bodies_are_client_errors_at_worst(
    fuzz_server: FuzzServer, body: bytes, content_type: str
):
    with httpx.Client(timeout=60) as http:
        response = http.post(fuzz_server.url, content=body, headers={"Content-Type": content_type})
    assert_answered_cleanly(response)


def test_the_server_logged_no_traceback(fuzz_server: FuzzServer):
    fuzz_server.assert_alive_and_clean()
