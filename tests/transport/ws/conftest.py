"""A small schema served over a real Sanic server on a free port, and clients for it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import graphene
import pytest
from sanic import Request, Sanic
from sanic.response import json as json_response
from websockets.asyncio.client import connect

from gencaster.errors import NotFound
from gencaster.transport.routes import add_graphql_route
from gencaster.transport.websocket import GraphQLWebSocketEndpoint
from gencaster.transport.ws.adapter import ConnectionInfo
from gencaster.transport.ws.operation import SocketSettings
from gencaster.transport.ws.registry import OperationScope
from tests.support.server import serving
from tests.support.ws import JsonSocket

RECEIVE_TIMEOUT = 5.0


@dataclass
class Recorder:
    """What the resolvers saw; tests compare it with what must have happened."""

    started: int = 0
    finished: int = 0
    cleanups: dict[str, int] = field(default_factory=dict)
    finally_tasks: list[str] = field(default_factory=list)
    total: int = 0
    connects: list[ConnectionInfo] = field(default_factory=list)
    # The server side of each connection, as its requests arrive (socket options).
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    def cleanup_for(self, key: str) -> Callable[[], Awaitable[None]]:
        async def cleanup() -> None:
            self.cleanups[key] = self.cleanups.get(key, 0) + 1

        return cleanup


def _record_start(info: graphene.ResolveInfo) -> Recorder:
    recorder: Recorder = info.context["recorder"]
    scope: OperationScope = info.context["scope"]
    recorder.started += 1
    scope.add_cleanup(recorder.cleanup_for(uuid.uuid4().hex))
    return recorder


def _record_end(recorder: Recorder) -> None:
    recorder.finished += 1
    task = asyncio.current_task()
    recorder.finally_tasks.append(task.get_name() if task else "")


class Query(graphene.ObjectType):
    hello = graphene.String(name=graphene.String(default_value="world"))
    missing = graphene.String()
    cookie = graphene.String(name=graphene.String(required=True))
    init_token = graphene.String()

    def resolve_hello(root: Any, info: graphene.ResolveInfo, name: str) -> str:
        return f"Hello {name}"

    def resolve_missing(root: Any, info: graphene.ResolveInfo) -> str:
        raise NotFound("Nothing here")

    def resolve_cookie(root: Any, info: graphene.ResolveInfo, name: str) -> str | None:
        return info.context["connection"].cookies.get(name)

    def resolve_init_token(root: Any, info: graphene.ResolveInfo) -> str | None:
        return info.context["connection"].init_payload.get("token")


class Increment(graphene.Mutation):
    class Arguments:
        by = graphene.Int(default_value=1)

    total = graphene.Int()

    def mutate(root: Any, info: graphene.ResolveInfo, by: int) -> Increment:
        recorder: Recorder = info.context["recorder"]
        recorder.total += by
        return Increment(total=recorder.total)


class Mutation(graphene.ObjectType):
    increment = Increment.Field()


class Subscription(graphene.ObjectType):
    counter = graphene.Int(upto=graphene.Int(default_value=3), delay=graphene.Float())
    failing = graphene.Int(after=graphene.Int(default_value=1), visible=graphene.Boolean())

    async def subscribe_counter(
        root: Any, info: graphene.ResolveInfo, upto: int, delay: float = 0.0
    ) -> AsyncIterator[int]:
        recorder = _record_start(info)
        try:
            for number in range(upto):
                yield number
                await asyncio.sleep(delay)
        finally:
            _record_end(recorder)

    async def subscribe_failing(
        root: Any, info: graphene.ResolveInfo, after: int, visible: bool = False
    ) -> AsyncIterator[int]:
        recorder = _record_start(info)
        try:
            for number in range(after):
                yield number
            if visible:
                raise NotFound("The stream ran dry")
            raise ValueError("secret internals")
        finally:
            _record_end(recorder)


SCHEMA = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)


@dataclass
class ToyServer:
    url: str
    http_url: str
    app: Sanic
    endpoint: GraphQLWebSocketEndpoint
    recorder: Recorder
    stop: Callable[[], Awaitable[None]]


async def _http_view(request: Request) -> Any:
    return json_response({"served_by": "http", "method": request.method})


def _build_app(recorder: Recorder, options: dict[str, Any]) -> tuple[Sanic, Any]:
    app = Sanic(f"ws_test_{uuid.uuid4().hex[:12]}")
    app.config.ACCESS_LOG = False
    app.config.MOTD = False

    @app.on_request
    async def keep_transport(request: Request) -> None:
        recorder.transports.append(request.transport)

    async def context_factory(connection: ConnectionInfo, scope: OperationScope) -> dict[str, Any]:
        return {"recorder": recorder, "scope": scope, "connection": connection}

    async def on_connect(connection: ConnectionInfo) -> bool | dict[str, Any]:
        recorder.connects.append(connection)
        if connection.init_payload.get("refuse"):
            return False
        if connection.init_payload.get("explode"):
            raise RuntimeError("on_connect bug")
        if connection.init_payload.get("unserializable"):
            return {"when": object()}
        if "ack" in connection.init_payload:
            return connection.init_payload["ack"]
        return True

    def check_origin(request: Request) -> bool:
        return request.headers.get("origin", "http://allowed.test") == "http://allowed.test"

    http_handler = options.pop("http_handler", _http_view)
    endpoint_options = {
        key: options.pop(key) for key in ("keepalive_interval", "init_timeout") if key in options
    }
    endpoint = GraphQLWebSocketEndpoint(
        settings=SocketSettings(
            schema=SCHEMA, context_factory=context_factory, on_connect=on_connect, **options
        ),
        check_origin=check_origin,
        **endpoint_options,
    )
    add_graphql_route(app, "/graphql", websocket=endpoint, http_handler=http_handler)
    return app, endpoint


async def start_server(**options: Any) -> ToyServer:
    """Run a fresh app in this event loop, as the tests' real server on a free port."""
    recorder = Recorder()
    app, endpoint = _build_app(recorder, options)
    stack = AsyncExitStack()  # closing it twice is harmless, so stop() may repeat
    port = await stack.enter_async_context(serving(app))
    return ToyServer(
        url=f"ws://127.0.0.1:{port}/graphql",
        http_url=f"http://127.0.0.1:{port}/graphql",
        app=app,
        endpoint=endpoint,
        recorder=recorder,
        stop=stack.aclose,
    )


@pytest.fixture
async def server_factory() -> AsyncIterator[Callable[..., Awaitable[ToyServer]]]:
    servers: list[ToyServer] = []

    async def factory(**options: Any) -> ToyServer:
        server = await start_server(**options)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.stop()


@pytest.fixture
async def ws_server(server_factory: Callable[..., Awaitable[ToyServer]]) -> ToyServer:
    return await server_factory()


@pytest.fixture
async def connect_client() -> AsyncIterator[Callable[..., Awaitable[JsonSocket]]]:
    clients: list[JsonSocket] = []

    async def factory(url: str, subprotocol: str | list[str] | None, **kwargs: Any) -> JsonSocket:
        subprotocols = [subprotocol] if isinstance(subprotocol, str) else subprotocol
        connection = await asyncio.wait_for(
            connect(url, subprotocols=subprotocols, proxy=None, **kwargs), RECEIVE_TIMEOUT
        )
        client = JsonSocket(connection)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
