"""The ceiling for fan-out: a bare Sanic app that broadcasts canned frames to WebSockets.

    python -m bench.baseline_fanout --port 8124 --frame frame.json

Speaks just enough ``graphql-transport-ws`` for the benchmark's client
(``connection_init`` → ``connection_ack``, ``subscribe`` → one ``next``), and on
``POST /broadcast?position=X`` sends every subscribed socket the frame with
``"positionX"`` set to X: the same bytes Gencaster sends for an ``updateNode``,
encoded once per update, with no GraphQL, no database and no broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from pathlib import Path
from typing import Any

from sanic import HTTPResponse, Request, Sanic, text
from sanic.server.websockets.impl import WebsocketImplProtocol

from bench.gc_pauses import GcPauses

POSITION_MARK = "__POSITION__"


def _raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def create_baseline_fanout_app(frame_template: str) -> Sanic:
    """``frame_template`` is a ``next`` frame with ``__POSITION__`` where positionX goes."""
    app = Sanic("gencaster_bench_baseline_fanout", configure_logging=False)
    app.config.AUTO_EXTEND = False
    app.config.WEBSOCKET_MAX_SIZE = 1024 * 1024
    subscribed: set[WebsocketImplProtocol] = set()

    async def graphql(request: Request, ws: WebsocketImplProtocol) -> None:
        try:
            async for raw in ws:
                message: dict[str, Any] = json.loads(raw)
                if message.get("type") == "connection_init":
                    await ws.send('{"type":"connection_ack"}')
                elif message.get("type") == "subscribe":
                    subscribed.add(ws)
                    await ws.send(frame_template.replace(POSITION_MARK, "0.0"))
        finally:
            subscribed.discard(ws)

    async def broadcast(request: Request) -> HTTPResponse:
        frame = frame_template.replace(POSITION_MARK, request.args.get("position", "0.0"))
        sockets = list(subscribed)
        await asyncio.gather(*(ws.send(frame) for ws in sockets), return_exceptions=True)
        return text(str(len(sockets)))

    pauses = GcPauses()

    async def collections(request: Request) -> HTTPResponse:
        return text(json.dumps(pauses.take()))

    app.add_websocket_route(graphql, "/graphql", subprotocols=["graphql-transport-ws"])
    app.add_route(broadcast, "/broadcast", methods=["POST"])
    app.add_route(collections, "/_bench/gc")
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frame", type=Path, required=True, help="a next frame with __POSITION__")
    args = parser.parse_args()
    _raise_file_limit()
    app = create_baseline_fanout_app(args.frame.read_text())
    app.prepare(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
