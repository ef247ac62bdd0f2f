"""The one check of every text argument, before any resolver runs.

Every string that reaches a field as an argument (literal or variable, at any depth
of input objects and lists) is checked once, after validation: text no database can
store (NUL, lone surrogates) and text longer than what the argument or input field
may hold (``extensions["max_length"]``, else the server's free-text bound) is refused
with ``BAD_USER_INPUT``. Arguments marked ``credential`` are left to the login, which
answers bad text as wrong credentials. Values that do not coerce are left to the
executor, which reports them in its own words.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
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


class _ArgumentChecker(Visitor):
    def __init__(self, type_info: TypeInfo, variables: dict[str, Any], max_text_chars: int) -> None:
        super().__init__()
        self.type_info = type_info
        self.variables = variables
        self.max_text_chars = max_text_chars
        self.errors: list[GraphQLError] = []

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        field_def = self.type_info.get_field_def()
        if field_def is None or not field_def.args or self.errors:
            return
        try:
            values = get_argument_values(field_def, node, self.variables)
        except GraphQLError:
            return  # the executor reports it
        for name, arg in field_def.args.items():
            extensions = arg.extensions or {}
            key = arg.out_name or name
            if extensions.get("credential") or key not in values:
                continue
            limit = extensions.get("max_length", self.max_text_chars)
            problem = _problem(values[key], arg.type, limit)
            if problem is not None:
                self.errors.append(
                    _bad_input(f"Argument {name!r} of {node.name.value!r} {problem}", node)
                )
                return


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
    type_info = TypeInfo(schema)
    checker = _ArgumentChecker(type_info, coerced, max_text_chars)
    visit(document, TypeInfoVisitor(type_info, checker))
    return checker.errors
