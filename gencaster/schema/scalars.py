"""The custom scalars of API.md: ``UUID``, ``DateTime``, ``Void`` and ``Upload``.

Bad input is reported as a ``GraphQLError`` with ``extensions.code`` ``BAD_USER_INPUT``
on both ways a value reaches the server, and graphql-core 3.2 treats them differently:

- a literal in the query text goes through ``parse_literal`` during validation, and a
  ``GraphQLError`` raised there is reported unchanged (message, extensions, location);
- a variable goes through ``parse_value`` while the variables are coerced, and
  graphql-core wraps the error in a new one ("Variable '$x' got invalid value ...; <our
  message>"). That wrapper copies ``extensions`` from its ``original_error`` when it has
  none of its own. graphql-core 3.2.14 passes our ``GraphQLError`` as that original;
  graphql-js and some graphql-core releases pass *its* ``original_error`` on instead.
  ``_bad_input`` sets the code on both, so either way the result is ``BAD_USER_INPUT``,
  and a formatter that looks at ``original_error`` (recursively) finds a ``BadUserInput``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn

import graphene
from graphql import GraphQLError, StringValueNode, ValueNode, print_ast

from gencaster.errors import BadUserInput
from gencaster.text import clip


class ScalarInputError(BadUserInput):
    """A ``BadUserInput`` that graphql-core can read the code from (``extensions``)."""

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


def _bad_input(message: str, node: ValueNode | None = None) -> NoReturn:
    cause = ScalarInputError(message)
    raise GraphQLError(message, node, original_error=cause, extensions=cause.extensions)


def _literal_text(node: ValueNode, type_name: str) -> str:
    if not isinstance(node, StringValueNode):
        _bad_input(f"{type_name} must be a string, got {print_ast(node)}", node)
    return node.value


def _to_uuid(value: Any, node: ValueNode | None = None) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    _bad_input(f"Invalid UUID: {clip(repr(value), 100)}", node)


class UUID(graphene.Scalar):
    """A UUID, sent as its canonical lowercase text (`8-4-4-4-12` hex digits).

    Input also accepts what Python's `uuid.UUID` reads (upper case, no dashes, braces);
    anything else is a `BAD_USER_INPUT` error."""

    @staticmethod
    def serialize(value: uuid.UUID | str) -> str:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))

    @staticmethod
    def parse_value(value: Any) -> uuid.UUID:
        return _to_uuid(value)

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> uuid.UUID:
        return _to_uuid(_literal_text(node, "UUID"), node)


def _to_datetime(value: Any, node: ValueNode | None = None) -> datetime:
    if not isinstance(value, str):
        _bad_input(f"DateTime must be an ISO-8601 string, got {clip(repr(value), 100)}", node)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _bad_input(f"Invalid ISO-8601 DateTime: {clip(repr(value), 100)}", node)
    if moment.tzinfo is None:
        # A time without an offset is ambiguous (a browser's local time?): refuse to guess.
        _bad_input(
            f"DateTime needs a timezone offset (e.g. 'Z' or '+00:00'): {clip(repr(value), 100)}",
            node,
        )
    return moment.astimezone(UTC)


class DateTime(graphene.Scalar):
    """A point in time as ISO-8601 text with a timezone, always sent in UTC
    (e.g. `2024-05-01T12:30:00+00:00`). Input must carry an offset; it is converted to UTC."""

    @staticmethod
    def serialize(value: datetime) -> str:
        if value.tzinfo is None:  # the database runs with use_tz, so naive means UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()

    @staticmethod
    def parse_value(value: Any) -> datetime:
        return _to_datetime(value)

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> datetime:
        return _to_datetime(_literal_text(node, "DateTime"), node)


class Void(graphene.Scalar):
    """Always `null`: the result of mutations that return nothing."""

    @staticmethod
    def serialize(_value: Any) -> None:
        return None

    @staticmethod
    def parse_value(_value: Any) -> None:
        return None

    @staticmethod
    def parse_literal(_node: ValueNode, _variables: Any = None) -> None:
        return None


_JSON_VALUE_TYPES = (str, int, float, bool, list, dict)


class Upload(graphene.Scalar):
    """A file part of a `multipart/form-data` request (GraphQL multipart request spec).

    The variable holding it is `null` in the `operations` JSON and mapped to a file part;
    the transport puts the server-side file object in its place, and resolvers receive
    that object. A file cannot be written into the query text or sent as plain JSON."""

    @staticmethod
    def serialize(value: Any) -> NoReturn:
        raise TypeError("Upload is an input-only scalar")

    @staticmethod
    def parse_value(value: Any) -> Any:
        if isinstance(value, _JSON_VALUE_TYPES):
            _bad_input("Upload must be a file part of a multipart request")
        return value

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> NoReturn:
        _bad_input("Upload cannot be a literal: send the file as a multipart request", node)


__all__ = ["UUID", "DateTime", "ScalarInputError", "Upload", "Void"]
