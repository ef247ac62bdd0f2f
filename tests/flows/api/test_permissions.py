"""The staff rule: every staff-only field refuses anonymous and non-staff callers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)

from gencaster.auth import create_user
from gencaster.schema import schema
from gencaster.schema.permissions import PUBLIC_FIELDS, staff_fields
from models import Graph, Node, StreamVariable
from tests.conftest import STAFF_PASSWORD
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


UPLOAD = object()  # stands for a file part of a multipart request


def sample(type_: Any) -> Any:
    """A valid value for any input type, built from the schema itself."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: sample(field.type)
            for name, field in type_.fields.items()
            if (isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined)
            or name == "uuid"
        }
    assert isinstance(type_, GraphQLScalarType)
    return {
        "UUID": str(uuid.uuid4()),
        "ID": str(uuid.uuid4()),
        "String": "x",
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "Upload": UPLOAD,
    }[type_.name]


def selection(type_: Any) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLObjectType):
        return "{ __typename }"
    if hasattr(named, "types"):  # a union
        return "{ __typename }"
    return ""


def operation_for(root: str, field_name: str) -> tuple[str, dict[str, Any]]:
    graphql_schema = schema.graphql_schema
    root_type = {
        "Query": graphql_schema.query_type,
        "Mutation": graphql_schema.mutation_type,
        "Subscription": graphql_schema.subscription_type,
    }[root]
    field = root_type.fields[field_name]
    arguments = {
        name: sample(arg.type)
        for name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    }
    declared = ", ".join(f"${name}: {field.args[name].type}" for name in arguments)
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    keyword = root.lower()
    head = f"{keyword}({declared})" if declared else keyword
    call = f"{field_name}({passed})" if passed else field_name
    return f"{head} {{ {call} {selection(field.type)} }}", arguments


STAFF_FIELDS = [pair for pair in staff_fields(schema.graphql_schema) if pair[0] != "Subscription"]


async def test_the_public_fields_are_exactly_those_api_md_names():
    assert {
        "Query": {"graphs", "streamPoints", "streamPoint", "isAuthenticated"},
        "Mutation": {"authLogin", "authLogout", "createUpdateStreamVariable"},
        "Subscription": {"streamInfo"},
    } == PUBLIC_FIELDS
    assert ("Mutation", "addGraph") in STAFF_FIELDS and ("Query", "graph") in STAFF_FIELDS


def _upload_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _upload_paths(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _upload_paths(item, f"{path}.{i}")]
    return [path] if value is UPLOAD else []


async def _send(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """JSON, or a multipart request (as upload clients send it) when a file is needed."""
    paths = _upload_paths(variables, "variables")
    if not paths:
        return await client.execute(query, variables)
    operations = json.dumps({"query": query, "variables": variables}, default=lambda _: None)
    files_map = {str(index): [path] for index, path in enumerate(paths)}
    files = {str(index): ("a.wav", b"RIFF0000WAVE", "audio/wav") for index in range(len(paths))}
    response = await client.http.post(
        client.url, data={"operations": operations, "map": json.dumps(files_map)}, files=files
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _counts() -> tuple[int, int, int]:
    return (await Graph.all().count(), await Node.all().count(), await StreamVariable.all().count())


@pytest.mark.parametrize(("root", "field_name"), STAFF_FIELDS)
async def test_staff_fields_refuse_anonymous_callers_and_change_nothing(
    server: RunningServer, anonymous: GraphQLClient, root: str, field_name: str
):
    query, variables = operation_for(root, field_name)
    before = await _counts()
    body = await _send(anonymous, query, variables)
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]
    assert codes == ["UNAUTHENTICATED"], (query, body)
    assert await _counts() == before


async def test_non_staff_users_are_refused_too(server: RunningServer, unique: str):
    await create_user(username=f"plain-{unique}", password=STAFF_PASSWORD)
    async with GraphQLClient(server.graphql_url) as client:
        assert (await client.login(f"plain-{unique}", STAFF_PASSWORD))["__typename"] == "User"
        assert await client.error_codes("query { nodes { uuid } }") == ["FORBIDDEN"]
