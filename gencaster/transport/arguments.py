"""The one check of every text argument, before any resolver runs.

Every string that reaches a field as an argument (literal or variable, at any depth
of input objects and lists) is checked once, after validation: text no database can
store (NUL, lone surrogates) and text longer than what the argument or input field
may hold (``extensions["max_length"]``, else the server's free-text bound) is refused
with ``BAD_USER_INPUT``. So is a number that is not finite: a Float literal such as
``1e309`` coerces to infinity, which no read of the row could then serialize.
Arguments marked ``credential`` are left to the login, which answers bad text as
wrong credentials. Values that do not coerce are left to the
executor, which reports them in its own words.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from graphql.execution.values import get_argument_values, get_variable_values

from gencaster.text import unstorable_reason

DEFAULT_MAX_TEXT_CHARS = 200_000


def _bad_input(message: str, node: FieldNode) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


def _problem(value: Any, type_: GraphQLInputType, limit: int) -> str | None:
    """What is wrong with the first bad string inside ``value``, or ``None``."""
    if isinstance(type_, GraphQLNonNull):
        return _problem(value, type_.of_type, limit)
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return next(
            (p for item in items if (p := _problem(item, type_.of_type, limit)) is not None), None
        )
    if isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            key = field.out_name or name
            if isinstance(value, dict) and key in value:
                bound = (field.extensions or {}).get("max_length", limit)
                problem = _problem(value[key], field.type, bound)
                if problem is not None:
                    return f"{name}: {problem}"
        return None
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason is not None:
            return reason
        if len(value) > limit:
            return f"is longer than {limit} characters"
    return None


class _ArgumentFields(Visitor):
    """Collects every field of a document that takes arguments, with its definition."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.fields: list[tuple[FieldNode, GraphQLField]] = []

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        field_def = self.type_info.get_field_def()
        if field_def is not None and field_def.args:
            self.fields.append((node, field_def))


# Finding the fields walks the whole document with type information, which costs more
# than checking their values; documents repeat (the parse cache hands out the same
# object), so the walk is done once per document. Entries hold their document, so an
# id is never reused while its entry lives.
_PLANS: OrderedDict[tuple[int, int], tuple[DocumentNode, list[tuple[FieldNode, GraphQLField]]]]
_PLANS = OrderedDict()
_PLANS_SIZE = 512


def _argument_fields(
    schema: GraphQLSchema, document: DocumentNode
) -> list[tuple[FieldNode, GraphQLField]]:
    key = (id(schema), id(document))
    cached = _PLANS.get(key)
    if cached is not None:
        _PLANS.move_to_end(key)
        return cached[1]
    type_info = TypeInfo(schema)
    collector = _ArgumentFields(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    _PLANS[key] = (document, collector.fields)
    while len(_PLANS) > _PLANS_SIZE:
        _PLANS.popitem(last=False)
    return collector.fields


def _field_problem(
    node: FieldNode, field_def: GraphQLField, variables: dict[str, Any], max_text_chars: int
) -> GraphQLError | None:
    try:
        values = get_argument_values(field_def, node, variables)
    except GraphQLError:
        return None  # the executor reports it
    for name, arg in field_def.args.items():
        extensions = arg.extensions or {}
        key = arg.out_name or name
        if extensions.get("credential") or key not in values:
            continue
        limit = extensions.get("max_length", max_text_chars)
        problem = _problem(values[key], arg.type, limit)
        if problem is not None:
            return _bad_input(f"Argument {name!r} of {node.name.value!r} {problem}", node)
    return None


def check_arguments(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    raw_variables: dict[str, Any] | None,
    *,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> list[GraphQLError]:
    """``BAD_USER_INPUT`` errors for unstorable or over-long text arguments (at most one)."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), raw_variables or {})
    if isinstance(coerced, list):
        return []  # invalid variables: the executor reports them
    for node, field_def in _argument_fields(schema, document):
        error = _field_problem(node, field_def, coerced, max_text_chars)
        if error is not None:
            return [error]
    return []
