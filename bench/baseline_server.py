"""The ceiling for a benchmark: a bare Sanic app that answers every request with canned bytes.

    python -m bench.baseline_server --port 8123 --body answer.json

No GraphQL, no database: ``POST``/``GET /graphql`` return the file's bytes as JSON,
so a benchmark that runs Gencaster and this server with the same client sees only
what the transport costs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sanic import HTTPResponse, Request, Sanic, raw


def create_baseline_app(body: bytes) -> Sanic:
    app = Sanic("gencaster_bench_baseline", configure_logging=False)
    app.config.AUTO_EXTEND = False

    async def answer(request: Request) -> HTTPResponse:
        return raw(body, content_type="application/json")

    app.add_route(answer, "/graphql", methods=["GET", "POST"])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="the bytes every answer carries")
    args = parser.parse_args()
    app = create_baseline_app(args.body.read_bytes())
    app.prepare(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
