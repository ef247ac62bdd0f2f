"""``create_app(settings)``: builds one Gencaster Sanic app and wires its parts.

Resources are opened and closed as pairs in listeners: the database and the
broker before the server starts, the streaming layer (OSC, engines) after; the
stop listeners run in reverse. Nothing is built at import time, so tests and
worker processes each build their own app.
"""

from __future__ import annotations

import itertools
import logging

from sanic import Sanic
from sanic_ext import Extend
from sanic_ext.extensions.http.extension import HTTPExtension
from tortoise import Tortoise
from tortoise.context import TortoiseContext

from gencaster.broker import create_broker
from gencaster.db import tortoise_config
from gencaster.schema import schema
from gencaster.services import create_services
from gencaster.settings import Settings
from gencaster.transport.graphiql import STATIC_DIR
from gencaster.transport.http import graphql_view

logger = logging.getLogger(__name__)
_app_numbers = itertools.count()


def _app_name() -> str:
    """Sanic keeps a registry of app names; later apps in one process get a suffix."""
    number = next(_app_numbers)
    return "gencaster" if number == 0 else f"gencaster_{number}"


def _configure_cors(app: Sanic, settings: Settings) -> None:
    if not settings.cors_origins:
        return
    Extend(
        app,
        extensions=[HTTPExtension],
        built_in_extensions=False,
        config={
            "CORS": True,
            "CORS_ORIGINS": ",".join(settings.cors_origins),
            "CORS_SUPPORTS_CREDENTIALS": True,
            "CORS_AUTOMATIC_OPTIONS": True,
            "CORS_ALLOW_HEADERS": "*",
            "OAS": False,
            "HEALTH": False,
        },
    )


async def open_database(settings: Settings) -> None:
    """Set up the ORM for this process.

    A fresh ``TortoiseContext`` keeps a context left by an earlier set-up in the
    same task (tests, migrations) out; the global fallback lets every request
    task of the server use it.
    """
    TortoiseContext().__enter__()
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic(_app_name())
    app.config.REQUEST_MAX_SIZE = settings.max_upload_bytes + 1024 * 1024
    app.config.WEBSOCKET_MAX_SIZE = 1024 * 1024
    app.ctx.settings = settings
    app.ctx.schema = schema
    _configure_cors(app, settings)

    async def open_resources(app: Sanic) -> None:
        settings.media_root.mkdir(parents=True, exist_ok=True)
        await open_database(settings)
        broker = create_broker(settings.redis_url or None, prefix=settings.redis_prefix)
        await broker.start()
        app.ctx.services = create_services(settings, broker)

    async def close_resources(app: Sanic) -> None:
        await app.ctx.services.broker.close()
        await Tortoise.close_connections()

    app.register_listener(open_resources, "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
    app.add_route(graphql_view, "/graphql", methods=["GET", "POST"], name="graphql")
    app.static("/static/graphiql", STATIC_DIR, name="graphiql_static")
    return app
