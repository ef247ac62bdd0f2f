"""The real Gencaster app for benchmarks, plus ``GET /_bench/queries`` (SQL statements run)."""

from __future__ import annotations

import logging

from sanic import Request, Sanic, text

from gencaster.app import create_app
from gencaster.cli import configure_logging
from gencaster.settings import Settings
from gencaster.transport.connections import GuardedProtocol


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip()[:6].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            self.count += 1


def main() -> None:
    configure_logging()
    settings = Settings.from_env()
    app = create_app(settings)
    counter = QueryCounter()
    database_logger = logging.getLogger("tortoise.db_client")
    database_logger.setLevel(logging.DEBUG)
    database_logger.propagate = False
    database_logger.addHandler(counter)

    async def queries(request: Request) -> object:
        return text(str(counter.count))

    app.add_route(queries, "/_bench/queries")
    app.prepare(
        host="127.0.0.1",
        port=settings.port,
        single_process=True,
        access_log=False,
        motd=False,
        protocol=GuardedProtocol,
    )
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
