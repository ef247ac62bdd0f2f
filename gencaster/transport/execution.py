"""Run one GraphQL request; shared by the HTTP and the WebSocket transports.

Both transports hand over a ``GraphQLRequest`` and get back either one
``ExecutionResult`` or, for subscriptions, an async iterator of them. Errors are
formatted here once, so no transport can leak a traceback or SQL text.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import graphene
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution import MapAsyncIterator, create_source_event_stream

from gencaster.db import is_unavailable
from gencaster.errors import GencasterError, ServiceUnavailable
from gencaster.text import clip
from gencaster.transport.arguments import check_arguments
from gencaster.transport.fields import FieldExecution
from gencaster.transport.limits import CostBudget, QueryLimits, check_limits

logger = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Internal server error"
MAX_QUERY_LENGTH = 100_000


@dataclass
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


def bad_request(message: str) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})]
    )


def over_budget(retry_after: float) -> ExecutionResult:
    seconds = max(1, math.ceil(min(retry_after, 3600)))
    error = GraphQLError(
        f"Too much work asked for on this connection; retry in {seconds} s",
        extensions={"code": "TOO_MANY_REQUESTS", "retryAfter": seconds},
    )
    return ExecutionResult(data=None, errors=[error])


def _admit(
    schema: graphene.Schema,
    parsed: _Parsed,
    request: GraphQLRequest,
    limits: QueryLimits,
    budget: CostBudget | None,
) -> ExecutionResult | None:
    """Refuse a document past ``limits`` or ``budget`` before anything else runs on it.

    The limits come first: the standard rules are not all linear in the size of a
    document, and a refused document should cost no more than measuring it.
    """
    assert parsed.document is not None
    document = parsed.document
    errors, costs = check_limits(schema.graphql_schema, document, limits, request.variables)
    if errors:
        return ExecutionResult(data=None, errors=errors)
    errors = _validation_errors(schema, parsed)
    if errors:
        return ExecutionResult(data=None, errors=errors)
    if budget is not None:
        cost = costs.get(request.operation_name, max(costs.values(), default=0))
        wait = budget.spend(cost)
        if wait:
            return over_budget(wait)
    return None


@dataclass
class _Parsed:
    """One query text, parsed once: its document (or why it has none) and its verdict."""

    document: DocumentNode | None
    syntax_errors: list[GraphQLError]
    validation_errors: list[GraphQLError] | None = None  # known once validated


# The apps send the same few documents again and again; parsing and validating one
# costs more than running most of them, and the schema is fixed, so both are kept.
# Bounded by entries and by text length, least recently used first out.
_DOCUMENTS: OrderedDict[tuple[int, int | None, str], _Parsed] = OrderedDict()
_DOCUMENTS_SIZE = 512
_DOCUMENTS_MAX_QUERY = 20_000


def _parsed(schema: graphene.Schema, query: str, max_tokens: int | None) -> _Parsed:
    key = (id(schema.graphql_schema), max_tokens, query)
    cached = _DOCUMENTS.get(key)
    if cached is not None:
        _DOCUMENTS.move_to_end(key)
        return cached
    try:
        parsed = _Parsed(parse(query, max_tokens=max_tokens), [])
    except GraphQLError as error:
        parsed = _Parsed(None, [error])
    if len(query) <= _DOCUMENTS_MAX_QUERY:
        _DOCUMENTS[key] = parsed
        while len(_DOCUMENTS) > _DOCUMENTS_SIZE:
            _DOCUMENTS.popitem(last=False)
    return parsed


def _validation_errors(schema: graphene.Schema, parsed: _Parsed) -> list[GraphQLError]:
    if parsed.validation_errors is None:
        assert parsed.document is not None
        parsed.validation_errors = validate(schema.graphql_schema, parsed.document)
    return parsed.validation_errors


def prepare_request(
    schema: graphene.Schema,
    request: GraphQLRequest,
    *,
    allow_mutations: bool = True,
    limits: QueryLimits | None = None,
    budget: CostBudget | None = None,
) -> DocumentNode | ExecutionResult:
    """The parsed, measured and validated document, or the result that refuses it."""
    limits = limits or QueryLimits()
    if not isinstance(request.query, str) or not request.query.strip():
        return bad_request("Must provide a query string")
    if len(request.query) > MAX_QUERY_LENGTH:
        return bad_request("Query is too long")
    try:
        parsed = _parsed(schema, request.query, limits.max_tokens)
    except RecursionError:
        return bad_request("The query is nested too deeply")
    if parsed.document is None:
        return ExecutionResult(data=None, errors=parsed.syntax_errors)
    refusal = _admit(schema, parsed, request, limits, budget)
    if refusal is not None:
        return refusal
    document = parsed.document
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        return bad_request("Unknown or ambiguous operation name")
    if operation.operation == OperationType.MUTATION and not allow_mutations:
        return bad_request("Mutations are not allowed with GET requests")
    text_errors = check_arguments(
        schema.graphql_schema,
        document,
        operation,
        request.variables,
        max_text_chars=limits.max_text_chars,
    )
    if text_errors:
        return ExecutionResult(data=None, errors=text_errors)
    return document


async def execute_request(
    schema: graphene.Schema,
    request: GraphQLRequest,
    context: Any,
    *,
    allow_mutations: bool = True,
    limits: QueryLimits | None = None,
    budget: CostBudget | None = None,
) -> ExecutionResult | AsyncIterator[ExecutionResult]:
    """Parse, measure, validate and run ``request``; subscriptions return an async iterator."""
    document = prepare_request(
        schema, request, allow_mutations=allow_mutations, limits=limits, budget=budget
    )
    if isinstance(document, ExecutionResult):
        return document
    return await run_document(schema, document, request, context)


async def run_document(
    schema: graphene.Schema, document: DocumentNode, request: GraphQLRequest, context: Any
) -> ExecutionResult | AsyncIterator[ExecutionResult]:
    """Run a document ``prepare_request`` accepted."""
    operation = get_operation_ast(document, request.operation_name)
    assert operation is not None  # prepare_request refused documents without it
    kwargs: dict[str, Any] = {
        "document": document,
        "context_value": context,
        "variable_values": request.variables,
        "operation_name": request.operation_name,
    }
    if operation.operation == OperationType.SUBSCRIPTION:
        return await _subscribe(schema.graphql_schema, kwargs)
    return await _execute(schema.graphql_schema, kwargs)


async def _execute(schema: GraphQLSchema, kwargs: dict[str, Any]) -> ExecutionResult:
    result = execute(schema, execution_context_class=FieldExecution, **kwargs)
    return await result if isawaitable(result) else result


async def _subscribe(
    schema: GraphQLSchema, kwargs: dict[str, Any]
) -> ExecutionResult | AsyncIterator[ExecutionResult]:
    """graphql-core's ``subscribe``, with each event run by ``FieldExecution`` too."""
    stream = await create_source_event_stream(schema, **kwargs)
    if isinstance(stream, ExecutionResult):
        return stream

    async def respond(payload: Any) -> ExecutionResult:
        return await _execute(schema, {**kwargs, "root_value": payload})

    return MapAsyncIterator(stream, respond)


def bounded_traceback(error: BaseException | None) -> str:
    """The traceback with every line clipped: exception messages may quote user input."""
    if error is None:
        return ""
    lines = traceback.format_exception(error)
    return "".join(clip(line, 1000) + ("" if line.endswith("\n") else "\n") for line in lines)


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, GencasterError):
        return original.code
    if original is not None and is_unavailable(original):
        return ServiceUnavailable.code
    if original is None:
        return (error.extensions or {}).get("code") or "BAD_USER_INPUT"
    if isinstance(original, GraphQLError):
        return error_code(original)
    return "INTERNAL_SERVER_ERROR"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The spec's error shape with ``extensions.code``; unknown failures stay generic."""
    code = error_code(error)
    message = error.message
    if code == ServiceUnavailable.code and not isinstance(error.original_error, GencasterError):
        logger.warning(
            "Database unavailable at %s: %r", clip(str(error.path)), error.original_error
        )
        message = ServiceUnavailable().message
    if code == "INTERNAL_SERVER_ERROR":
        logger.error(
            "Unhandled error in GraphQL resolver at %s\n%s",
            clip(str(error.path)),
            bounded_traceback(error.original_error),
        )
        message = INTERNAL_MESSAGE
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = list(error.path)
    original = error.original_error
    extra = original.extensions if isinstance(original, GencasterError) else {}
    formatted["extensions"] = {**(error.extensions or {}), **extra, "code": code}
    return formatted


def format_result(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [format_error(error) for error in result.errors]
    return payload
