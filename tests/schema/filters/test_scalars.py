"""UUID, DateTime, Void and Upload on the wire, and their BAD_USER_INPUT errors."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphene
import pytest
from graphql import GraphQLScalarType

from gencaster.schema.scalars import UUID, DateTime, Upload, Void

SAMPLE = uuid.UUID("6f1d6c5e-0b5a-4c4b-9b1f-1e7b1b2b3c4d")
BERLIN_SUMMER = timezone(timedelta(hours=2))


class Query(graphene.ObjectType):
    uuid_out = graphene.Field(UUID, text=graphene.Boolean())
    uuid_echo = graphene.Field(graphene.String, value=UUID(required=True))
    time_out = graphene.Field(DateTime, naive=graphene.Boolean())
    time_echo = graphene.Field(DateTime, value=DateTime(required=True))
    nothing = graphene.Field(Void, value=Void())
    upload_size = graphene.Field(graphene.Int, file=Upload(required=True))

    @staticmethod
    def resolve_uuid_out(root: Any, info: Any, text: bool = False) -> Any:
        return str(SAMPLE).upper() if text else SAMPLE

    @staticmethod
    def resolve_uuid_echo(root: Any, info: Any, value: uuid.UUID) -> str:
        assert isinstance(value, uuid.UUID)
        return str(value)

    @staticmethod
    def resolve_time_out(root: Any, info: Any, naive: bool = False) -> datetime:
        if naive:
            return datetime(2024, 5, 1, 12, 30)
        return datetime(2024, 5, 1, 14, 30, tzinfo=BERLIN_SUMMER)

    @staticmethod
    def resolve_time_echo(root: Any, info: Any, value: datetime) -> datetime:
        assert value.tzinfo is UTC
        return value

    @staticmethod
    def resolve_nothing(root: Any, info: Any, value: Any = None) -> str:
        return "ignored"

    @staticmethod
    def resolve_upload_size(root: Any, info: Any, file: io.BytesIO) -> int:
        return len(file.read())


schema = graphene.Schema(query=Query)


def run(query: str, **variables: Any) -> Any:
    return schema.execute(query, variables=variables or None)


def assert_bad_user_input(result: Any, fragment: str) -> None:
    assert result.data is None
    assert result.errors, result
    formatted = result.errors[0].formatted
    assert formatted["extensions"] == {"code": "BAD_USER_INPUT"}, formatted
    assert fragment in formatted["message"]


def test_scalars_have_their_wire_names() -> None:
    for name in ("UUID", "DateTime", "Void", "Upload"):
        assert isinstance(schema.graphql_schema.get_type(name), GraphQLScalarType)


def test_uuid_is_sent_canonical_and_lowercase() -> None:
    assert run("{ a: uuidOut, b: uuidOut(text: true) }").data == {
        "a": str(SAMPLE),
        "b": str(SAMPLE),
    }


@pytest.mark.parametrize(
    "text", [str(SAMPLE), str(SAMPLE).upper(), SAMPLE.hex, "{" + str(SAMPLE) + "}"]
)
def test_uuid_input_accepts_the_usual_spellings(text: str) -> None:
    assert run(f'{{ uuidEcho(value: "{text}") }}').data == {"uuidEcho": str(SAMPLE)}
    result = run("query ($v: UUID!) { uuidEcho(value: $v) }", v=text)
    assert result.data == {"uuidEcho": str(SAMPLE)}


@pytest.mark.parametrize("literal", ['"nope"', '""', "42", "true", '"6f1d6c5e-0b5a"'])
def test_invalid_uuid_literal_is_bad_user_input(literal: str) -> None:
    assert_bad_user_input(run(f"{{ uuidEcho(value: {literal}) }}"), "UUID")


@pytest.mark.parametrize("value", ["nope", "", 42, True, ["x"]])
def test_invalid_uuid_variable_is_bad_user_input(value: Any) -> None:
    result = run("query ($v: UUID!) { uuidEcho(value: $v) }", v=value)
    assert_bad_user_input(result, "UUID")


def test_datetime_is_sent_in_utc_with_offset() -> None:
    result = run("{ a: timeOut, b: timeOut(naive: true) }")
    assert result.data == {"a": "2024-05-01T12:30:00+00:00", "b": "2024-05-01T12:30:00+00:00"}


@pytest.mark.parametrize(
    "text", ["2024-05-01T14:30:00+02:00", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.000+00:00"]
)
def test_datetime_input_is_converted_to_utc(text: str) -> None:
    expected = {"timeEcho": "2024-05-01T12:30:00+00:00"}
    assert run(f'{{ timeEcho(value: "{text}") }}').data == expected
    assert run("query ($v: DateTime!) { timeEcho(value: $v) }", v=text).data == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024-05-01T12:30:00", "timezone"),
        ("yesterday", "Invalid ISO-8601"),
        ("2024-13-01T00:00:00Z", "Invalid ISO-8601"),
        (1714566600, "ISO-8601 string"),
    ],
)
def test_bad_datetime_is_bad_user_input(value: Any, fragment: str) -> None:
    result = run("query ($v: DateTime!) { timeEcho(value: $v) }", v=value)
    assert_bad_user_input(result, fragment)
    literal = f'"{value}"' if isinstance(value, str) else str(value)
    assert_bad_user_input(run(f"{{ timeEcho(value: {literal}) }}"), "DateTime")


def test_void_is_always_null() -> None:
    assert run('{ nothing(value: "anything") }').data == {"nothing": None}
    assert run("query ($v: Void) { nothing(value: $v) }", v=3).data == {"nothing": None}


def test_upload_variable_passes_the_file_object_through() -> None:
    query = "query ($f: Upload!) { uploadSize(file: $f) }"
    assert run(query, f=io.BytesIO(b"RIFF1234")).data == {"uploadSize": 8}


@pytest.mark.parametrize("value", ["file.wav", {"name": "x"}, 3])
def test_upload_sent_as_json_is_bad_user_input(value: Any) -> None:
    result = run("query ($f: Upload!) { uploadSize(file: $f) }", f=value)
    assert_bad_user_input(result, "multipart")


def test_upload_literal_is_bad_user_input() -> None:
    assert_bad_user_input(run('{ uploadSize(file: "file.wav") }'), "literal")
