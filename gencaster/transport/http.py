"""GraphQL over HTTP: POST JSON, GET ``?query=`` (queries only), GraphiQL for browsers."""

from __future__ import annotations

import json
from typing import Any

from sanic import Request, response
from sanic.response import HTTPResponse

from gencaster.auth import SESSION_COOKIE
from gencaster.schema.context import GraphQLContext
from gencaster.transport.csrf import request_origin_allowed
from gencaster.transport.execution import GraphQLRequest, execute_request, format_result
from gencaster.transport.graphiql import graphiql_html


class RequestError(Exception):
    """The HTTP request itself is unusable (not a GraphQL error)."""


def error_response(message: str, status: int = 400) -> HTTPResponse:
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
    }
    return response.json(body, status=status)


def _json_object(raw: Any, what: str) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise RequestError(f"{what} is not valid JSON") from exc
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


def origin_allowed(request: Request) -> bool:
    settings = request.app.ctx.services.settings
    return request_origin_allowed(
        headers=request.headers,
        cookies=request.cookies,
        scheme=request.scheme,
        host=request.host,
        allowed_origins=settings.cors_origins,
    )


async def build_context(request: Request) -> GraphQLContext:
    services = request.app.ctx.services
    token = request.cookies.get(SESSION_COOKIE)
    user = await services.sessions.user_for(token)
    return GraphQLContext(services=services, user=user, session_token=token, transport="http")


def _parse(request: Request) -> tuple[GraphQLRequest, bool]:
    """The GraphQL request and whether mutations are allowed (not over GET)."""
    if request.method == "GET":
        args = {key: request.args.get(key) for key in ("query", "variables", "operationName")}
        return graphql_request_from(args), False
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return request.app.ctx.multipart_parser(request), True
    if not content_type.startswith("application/json"):
        raise RequestError("Send GraphQL as application/json or multipart/form-data")
    try:
        payload = json.loads(request.body or b"null")
    except ValueError as exc:
        raise RequestError("The body is not valid JSON") from exc
    return graphql_request_from(payload), True


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


async def graphql_view(request: Request) -> HTTPResponse:
    if request.method == "GET" and _wants_html(request):
        return response.html(graphiql_html(endpoint=request.path))
    if request.method == "POST" and not origin_allowed(request):
        return error_response("Cross-site request refused", status=403)
    try:
        graphql_request, allow_mutations = _parse(request)
    except RequestError as exc:
        return error_response(str(exc))
    context = await build_context(request)
    result = await execute_request(
        request.app.ctx.schema, graphql_request, context, allow_mutations=allow_mutations
    )
    if not hasattr(result, "errors"):  # a subscription: only over WebSocket
        return error_response("Subscriptions need a WebSocket connection")
    resp = response.json(format_result(result))
    _apply_session_cookie(resp, context, request)
    return resp
