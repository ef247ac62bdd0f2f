"""GraphQL over HTTP: POST JSON, GET ``?query=`` (queries only), GraphiQL for browsers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol, cast

from graphql import DocumentNode, ExecutionResult
from sanic import Request, response
from sanic.exceptions import PayloadTooLarge
from sanic.response import HTTPResponse

from gencaster.auth import SESSION_COOKIE
from gencaster.db import is_unavailable
from gencaster.errors import ServiceUnavailable
from gencaster.graph_changes import graph_versions
from gencaster.metrics import GRAPH_READ_CACHE, OPERATIONS
from gencaster.schema.context import GraphQLContext
from gencaster.transport.csrf import request_origin_allowed
from gencaster.transport.decoding import UndecodableInput, decode_json, media_type
from gencaster.transport.execution import (
    GraphQLRequest,
    format_result,
    prepare_request,
    run_document,
)
from gencaster.transport.graphiql import graphiql_html
from gencaster.transport.limits import CostBudget, check_limits
from gencaster.transport.multipart import MultipartError, MultipartParser, MultipartRequest
from gencaster.transport.read_cache import ReadCache, ReadKey, caller_class, read_key

logger = logging.getLogger(__name__)

# The route streams request bodies (for uploads), so JSON bodies get their own bound.
MAX_JSON_BODY_BYTES = 16 * 1024 * 1024
LINGER_SECONDS = 5.0
# What a kept answer costs a connection's budget instead of its measure: it is two
# small SELECTs and a copy of bytes, however many fields it holds.
KEPT_ANSWER_COST = 50


class LiveRequests:
    """How many GraphQL requests over HTTP are running; work for a client that left stops."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> None:
        self.count += 1

    def __exit__(self, *exc_info: object) -> None:
        self.count -= 1


class RequestError(Exception):
    """The HTTP request itself is unusable (not a GraphQL error)."""

    status = 400


class BodyTimeout(RequestError):
    """A JSON body still incomplete after ``request_body_timeout_s`` (a client trickling it)."""

    status = 408


def error_response(message: str, status: int = 400, code: str = "BAD_USER_INPUT") -> HTTPResponse:
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code}}],
    }
    return response.json(body, status=status)


def _json_object(raw: Any, what: str) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = decode_json(raw, what)
        except UndecodableInput as exc:
            raise RequestError(exc.reason) from exc
    if raw is not None and not isinstance(raw, dict):
        raise RequestError(f"{what} must be a JSON object")
    return raw


def graphql_request_from(payload: Any) -> GraphQLRequest:
    if not isinstance(payload, dict):
        raise RequestError("The body must be a JSON object with a query")
    query = payload.get("query")
    if not isinstance(query, str):
        raise RequestError("Must provide a query string")
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError("operationName must be a string")
    variables = _json_object(payload.get("variables"), "variables")
    return GraphQLRequest(query=query, variables=variables, operation_name=name or None)


def _wants_html(request: Request) -> bool:
    return "query" not in request.args and "text/html" in request.headers.get("accept", "")


def origin_allowed(request: Request, *, cookie_only: bool = True) -> bool:
    """The CSRF check (csrf.py); a WebSocket upgrade checks only requests with the cookie."""
    settings = request.app.ctx.services.settings
    return request_origin_allowed(
        headers=request.headers,
        cookies=request.cookies,
        scheme=request.scheme,
        host=request.host,
        allowed_origins=settings.cors_origins,
        cookie_only=cookie_only,
    )


async def build_context(request: Request) -> GraphQLContext:
    token = request.cookies.get(SESSION_COOKIE)
    return await GraphQLContext.for_session(
        request.app.ctx.services,
        token,
        transport="http",
        client_address=request.remote_addr or request.ip,
    )


async def _request_body(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit``; the route streams, so nothing read it yet."""
    if request.stream is not None:
        request.stream.request_max_size = limit
    await request.receive_body()
    return request.body


async def _json_body(request: Request) -> bytes:
    limit = request.app.ctx.services.settings.request_body_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await _request_body(request, MAX_JSON_BODY_BYTES)
    except TimeoutError:
        raise BodyTimeout(f"The request body did not arrive within {limit:g} s") from None


class _BodyStream(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...


def _body_of(stream: object) -> _BodyStream:
    """Sanic's HTTP/1 stream iterates over the body; its ``Stream`` base type does not say so."""
    return cast(_BodyStream, stream)


async def _body_chunks(request: Request) -> AsyncIterator[bytes]:
    if request.body:  # a route that does not stream has read the body already
        yield request.body
    elif request.stream is not None:
        async for chunk in _body_of(request.stream):
            yield chunk


async def _read_multipart(request: Request, context: GraphQLContext) -> MultipartRequest:
    """Uploads go to disk as they arrive; a caller who may not upload has them dropped."""
    parser: MultipartParser = request.app.ctx.multipart_parser
    if request.stream is not None:
        request.stream.request_max_size = parser.body_limit
    content_type = request.headers.get("content-type", "")
    try:
        return await parser(_body_chunks(request), content_type, keep_files=context.is_staff)
    except MultipartError as exc:
        raise RequestError(str(exc)) from exc


async def _parse(
    request: Request, context: GraphQLContext
) -> tuple[GraphQLRequest, bool, MultipartRequest | None]:
    """The GraphQL request, whether mutations are allowed (not over GET), and any uploads."""
    if request.method == "GET":
        args = {key: request.args.get(key) for key in ("query", "variables", "operationName")}
        return graphql_request_from(args), False, None
    content_type = media_type(request.headers.get("content-type", ""))
    if content_type == "multipart/form-data":
        form = await _read_multipart(request, context)
        try:
            return graphql_request_from(form.operations), True, form
        except RequestError:
            await form.discard()
            raise
    if content_type != "application/json":
        raise RequestError("Send GraphQL as application/json or multipart/form-data")
    try:
        body = await _json_body(request)
        payload = decode_json(body or b"null", "The body")
    except UndecodableInput as exc:
        raise RequestError(exc.reason) from exc
    return graphql_request_from(payload), True, None


async def _refuse_too_large(request: Request) -> None:
    """Answer 413 at once, then read on for a while before the connection closes.

    Closing a socket with unread data resets it, and a client still sending its body
    would then never see the answer; so discard what keeps coming, for a bounded time.
    """
    resp = await request.respond(error_response("The request body is too large", status=413))
    await resp.send(end_stream=True)
    if request.stream is None:
        return
    request.stream.request_max_size = float("inf")
    with suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            async for _ in _body_of(request.stream):
                pass
    request.stream.request_max_size = 0  # whatever is still coming: close, do not read it


def _apply_session_cookie(resp: HTTPResponse, context: GraphQLContext, request: Request) -> None:
    settings = request.app.ctx.services.settings
    if context.new_session_token:
        resp.add_cookie(
            SESSION_COOKIE,
            context.new_session_token,
            httponly=True,
            samesite="Lax" if not settings.cookie_secure else "None",
            secure=settings.cookie_secure,
            max_age=settings.session_days * 24 * 3600,
            path="/",
        )
    elif context.end_session:
        resp.delete_cookie(SESSION_COOKIE, path="/")


def _connection_budget(request: Request) -> CostBudget:
    """One budget per HTTP connection, kept for its keep-alive requests."""
    ctx = request.conn_info.ctx if request.conn_info is not None else None
    budget = getattr(ctx, "cost_budget", None)
    if budget is None:
        budget = request.app.ctx.connection_budget()
        if ctx is not None:
            ctx.cost_budget = budget
    return budget


async def graphql_view(request: Request) -> HTTPResponse | None:
    """Serve one GraphQL request.

    Sanic cancels this handler's task when the client disconnects, so a request whose
    client has gone stops at its next await instead of running to the end.
    """
    with request.app.ctx.live_requests:
        return await _serve(request)


async def _serve(request: Request) -> HTTPResponse | None:
    if request.method == "GET" and _wants_html(request):
        return response.html(graphiql_html(endpoint=request.path))
    if request.method == "POST" and not origin_allowed(request, cookie_only=False):
        return error_response("Cross-site request refused", status=403)
    try:
        context = await build_context(request)
    except Exception as error:
        if not is_unavailable(error):
            raise
        logger.warning("Database unavailable for a session lookup: %r", error)
        return error_response(ServiceUnavailable().message, 503, ServiceUnavailable.code)
    try:
        graphql_request, allow_mutations, form = await _parse(request, context)
    except RequestError as exc:
        return error_response(str(exc), status=exc.status)
    except PayloadTooLarge:
        await _refuse_too_large(request)  # it sends the response itself
        return None
    OPERATIONS.labels(protocol="http").inc()
    try:
        resp = await _answer(request, graphql_request, context, allow_mutations)
    finally:
        if form is not None:  # whatever a resolver did not store is deleted
            await form.discard()
    _apply_session_cookie(resp, context, request)
    return resp


async def _answer(
    request: Request, graphql_request: GraphQLRequest, context: GraphQLContext, mutations: bool
) -> HTTPResponse:
    """Run the request, or serve the kept answer of a graph read whose graphs did not change."""
    schema = request.app.ctx.schema
    budget = _connection_budget(request)
    document = prepare_request(
        schema,
        graphql_request,
        allow_mutations=mutations,
        limits=request.app.ctx.query_limits,
        budget=budget,
    )
    if isinstance(document, ExecutionResult):
        return response.json(format_result(document))
    lookup = await _look_up(request, document, graphql_request, context)
    if lookup is not None and lookup.kept is not None:
        budget.refund(_measured_cost(request, document, graphql_request) - KEPT_ANSWER_COST)
        return HTTPResponse(lookup.kept, content_type="application/json")
    result = await run_document(schema, document, graphql_request, context)
    if not isinstance(result, ExecutionResult):  # a subscription: only over WebSocket
        return error_response("Subscriptions need a WebSocket connection")
    resp = response.json(format_result(result))
    if lookup is not None and not result.errors:
        lookup.cache.put(lookup.key, lookup.versions, bytes(resp.body or b""))
    return resp


@dataclass
class _Lookup:
    """A graph read looked up: where to keep its answer, and the answer if one is kept."""

    cache: ReadCache
    key: ReadKey
    versions: tuple[int, ...]
    kept: bytes | None


async def _look_up(
    request: Request, document: DocumentNode, graphql: GraphQLRequest, context: GraphQLContext
) -> _Lookup | None:
    """``None`` for a request that is not a graph read to keep (or with no cache)."""
    cache: ReadCache | None = request.app.ctx.read_cache
    if cache is None:
        return None
    key = read_key(
        document,
        query=graphql.query,
        operation_name=graphql.operation_name,
        variables=graphql.variables,
        caller=caller_class(context.user),
    )
    versions = await _versions(key) if key is not None else None
    if key is None or versions is None:
        return None
    kept = cache.get(key, versions)
    GRAPH_READ_CACHE.labels(result="miss" if kept is None else "hit").inc()
    return _Lookup(cache, key, versions, kept)


def _measured_cost(request: Request, document: DocumentNode, graphql: GraphQLRequest) -> int:
    """What ``prepare_request`` charged the connection for this operation (a kept measure)."""
    schema = request.app.ctx.schema.graphql_schema
    _, costs = check_limits(schema, document, request.app.ctx.query_limits, graphql.variables)
    return costs.get(graphql.operation_name, max(costs.values(), default=0))


async def _versions(key: ReadKey) -> tuple[int, ...] | None:
    """The graphs' versions now, read before running; ``None``: do not keep (or use) an answer."""
    try:
        current = await graph_versions(key.graphs)
    except Exception as error:
        if not is_unavailable(error):
            raise
        return None  # running the request reports the outage the usual way
    if len(current) != len(key.graphs):
        return None  # an unknown graph: the answer is an error, never kept
    return tuple(current[graph] for graph in key.graphs)
