"""The one ``/graphql`` route: GraphQL over HTTP and over WebSocket on the same path.

Sanic keeps one handler per path and method, and a WebSocket upgrade is a GET, so
the upgrade cannot have a route of its own beside ``GET /graphql``. One route
therefore dispatches: upgrade requests go to the WebSocket endpoint, everything
else to the HTTP view. The route streams request bodies (Sanic's public
``stream=True``), so the HTTP view reads JSON itself and writes uploads to disk
as they arrive instead of Sanic holding a whole upload in memory first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sanic import Request, Sanic
from sanic.response import HTTPResponse, text

from gencaster.transport.websocket import GraphQLWebSocketEndpoint, is_websocket_upgrade

HttpHandler = Callable[[Request], Awaitable[HTTPResponse | None]]


def add_graphql_route(
    app: Sanic,
    path: str,
    *,
    websocket: GraphQLWebSocketEndpoint,
    http_handler: HttpHandler | None,
    name: str | None = None,
) -> None:
    """Register the path's only route; without ``http_handler`` plain requests get 426.

    The endpoint's sockets are closed at ``before_server_stop``, while the database
    is still open; it is also kept as ``app.ctx.graphql_websocket`` (live counts).
    """

    async def graphql_route(request: Request) -> HTTPResponse | None:
        if is_websocket_upgrade(request):
            return await websocket.serve(request)
        if http_handler is None:
            return text("Upgrade Required", status=426, headers={"Upgrade": "websocket"})
        return await http_handler(request)

    # Sanic's own marker for websocket routes: it lets the handler return None once
    # the socket has been upgraded, instead of failing with "Invalid response type".
    graphql_route.is_websocket = True  # type: ignore[attr-defined]
    app.enable_websocket()
    methods = ["GET", "POST"] if http_handler is not None else ["GET"]
    app.add_route(graphql_route, path, methods=methods, name=name, stream=True)
    app.register_listener(websocket.shutdown, "before_server_stop")
    app.ctx.graphql_websocket = websocket
