"""``create_app(settings)``: builds one Gencaster Sanic app and wires its parts.

Resources are opened and closed as pairs in listeners: the database and the
broker before the server starts, the streaming layer (OSC, engines) after; the
stop listeners run in reverse. Nothing is built at import time, so tests and
worker processes each build their own app.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import partial
from urllib.parse import unquote

from sanic import HTTPResponse, Request, Sanic
from sanic.exceptions import NotFound
from sanic.handlers.directory import DirectoryHandler
from sanic_ext import Extend
from sanic_ext.extensions.http.extension import HTTPExtension

from gencaster.broker import create_broker
from gencaster.collector import CollectorPolicy
from gencaster.db import open_database
from gencaster.distributor import GenCasterChannel
from gencaster.health import Readiness
from gencaster.media import MediaStore
from gencaster.schema import schema
from gencaster.schema.subscriptions import SHAREABLE_SUBSCRIPTIONS
from gencaster.services import create_services
from gencaster.settings import Settings
from gencaster.streaming.runtime import StreamingRuntime
from gencaster.streaming.tts import configured_backend
from gencaster.transport.connections import ConnectionLimits
from gencaster.transport.contexts import access_key, feed_context, staff_watch, websocket_hooks
from gencaster.transport.graphiql import STATIC_DIR
from gencaster.transport.health import register_health
from gencaster.transport.http import LiveRequests, graphql_view, origin_allowed
from gencaster.transport.keepalive import Keepalive
from gencaster.transport.limits import CostBudget, QueryLimits
from gencaster.transport.media import register_media
from gencaster.transport.metrics import register_metrics
from gencaster.transport.multipart import MultipartParser
from gencaster.transport.read_cache import ReadCache
from gencaster.transport.routes import add_graphql_route
from gencaster.transport.websocket import GraphQLWebSocketEndpoint
from gencaster.transport.ws.operation import SocketSettings
from gencaster.transport.ws.shared import SharedFeeds

logger = logging.getLogger(__name__)
_app_numbers = itertools.count()
# Uploads are spooled inside the media root (same disk: storing one is a rename);
# the media route never serves dot-led folders.
SPOOL_DIR = ".incoming"


class NoListing(DirectoryHandler):
    """A folder under a static mount is 404: Sanic's default handler fails with a 500."""

    async def handle(self, request: Request, path: str) -> HTTPResponse:
        raise NotFound("Not found")


async def refuse_dot_dot(request: Request) -> None:
    """``..`` under ``/static/`` is 404 before Sanic's static handler logs it as an ERROR.

    Scanners send such paths by the thousand; a missing file is no server fault.
    """
    if request.path.startswith("/static/") and ".." in unquote(request.path).split("/"):
        raise NotFound("Not found")


def _app_name() -> str:
    """Sanic keeps a registry of app names; later apps in one process get a suffix."""
    number = next(_app_numbers)
    return "gencaster" if number == 0 else f"gencaster_{number}"


# Browsers ignore "*" in Access-Control-Allow-Headers for requests with credentials, and
# the apps always send their cookie: so name every header they may send (JSON and
# multipart posts, media with ranges and revalidation), and expose what media players read.
CORS_ALLOW_HEADERS = (
    "accept",
    "accept-language",
    "cache-control",
    "content-language",
    "content-type",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "pragma",
    "range",
    "x-requested-with",
)
CORS_EXPOSE_HEADERS = ("accept-ranges", "content-length", "content-range", "last-modified")
CORS_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
CORS_MAX_AGE_S = 600


def _configure_cors(app: Sanic, settings: Settings) -> None:
    """Allow the configured origins (with credentials) and no others.

    A WebSocket upgrade is not subject to CORS; its origin is checked by
    ``origin_allowed`` like a POST's.
    """
    if not settings.cors_origins:
        return
    Extend(
        app,
        extensions=[HTTPExtension],
        built_in_extensions=False,
        config={
            "CORS": True,
            "CORS_ORIGINS": ",".join(origin.rstrip("/") for origin in settings.cors_origins),
            "CORS_SUPPORTS_CREDENTIALS": True,
            "CORS_AUTOMATIC_OPTIONS": True,
            "CORS_ALLOW_HEADERS": ",".join(CORS_ALLOW_HEADERS),
            "CORS_EXPOSE_HEADERS": ",".join(CORS_EXPOSE_HEADERS),
            "CORS_METHODS": ",".join(CORS_METHODS),
            "CORS_MAX_AGE": CORS_MAX_AGE_S,
            "OAS": False,
            "HEALTH": False,
        },
    )


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_fields=settings.max_query_fields,
        max_root_fields=settings.max_query_root_fields,
        max_cost=settings.max_query_cost,
        list_size=settings.query_list_size,
        max_tokens=settings.max_query_tokens,
        max_text_chars=settings.max_text_chars,
    )


def connection_budget(settings: Settings) -> Callable[[], CostBudget]:
    """A new budget for each connection (HTTP keep-alive or WebSocket)."""
    return partial(
        CostBudget,
        capacity=settings.connection_cost_budget,
        rate=settings.connection_cost_per_s,
    )


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    # Refused here, by every way of starting the app, not at a listener's first cell.
    configured_backend(settings)
    # Logging is set up once per process by whoever runs the app (the CLI, tests);
    # Sanic's own set-up would add handlers that write its records a second time.
    app = Sanic(_app_name(), configure_logging=False)
    # sanic-ext would otherwise extend every app by itself (OpenAPI pages and all);
    # Gencaster uses only its CORS, and only where origins are configured.
    app.config.AUTO_EXTEND = False
    app.config.REQUEST_MAX_SIZE = settings.max_upload_bytes + 1024 * 1024
    app.config.WEBSOCKET_MAX_SIZE = 1024 * 1024
    # Behind N trusted proxies, X-Forwarded-Proto/For give the scheme and host that
    # the origin check compares with.
    app.config.PROXIES_COUNT = settings.proxies_count
    app.ctx.settings = settings
    app.ctx.schema = schema
    app.ctx.query_limits = query_limits(settings)
    app.ctx.connection_budget = connection_budget(settings)
    app.ctx.live_requests = LiveRequests()
    cache_bytes = settings.graph_read_cache_bytes
    app.ctx.read_cache = ReadCache(cache_bytes) if cache_bytes else None
    app.ctx.connection_limits = ConnectionLimits(
        head_timeout=settings.request_head_timeout_s,
        max_per_address=settings.max_connections_per_address,
    )
    # Sanic checks its timeouts every half of the shortest one; the head deadline
    # (GuardedProtocol) is checked on the same beat.
    # Sanic reads fractions of a second too; its hint says int.
    app.config.REQUEST_TIMEOUT = settings.request_head_timeout_s  # type: ignore[assignment]
    _configure_cors(app, settings)

    # What open_resources opened, closed again in reverse order by close_resources.
    resources = AsyncExitStack()

    async def open_resources(app: Sanic) -> None:
        try:
            await _open(resources)
        except BaseException:
            await resources.aclose()  # what opened before the failure is closed again
            raise

    async def _open(resources: AsyncExitStack) -> None:
        settings.media_root.mkdir(parents=True, exist_ok=True)
        await resources.enter_async_context(open_database(settings.database_url))
        broker = create_broker(settings.redis_url or None, prefix=settings.redis_prefix)
        await broker.start()
        resources.push_async_callback(broker.close)
        channel = GenCasterChannel(broker)
        media = MediaStore.from_settings(settings)
        streaming = StreamingRuntime(settings, channel=channel, media=media)
        await streaming.start()
        resources.push_async_callback(streaming.close)
        app.ctx.streaming = streaming
        app.ctx.services = create_services(
            settings,
            broker=broker,
            channel=channel,
            media=media,
            variables=streaming.variables,
            listening=streaming.listening,
        )
        resources.push_async_callback(app.ctx.services.logins.close)
        await app.ctx.services.access.start()
        resources.push_async_callback(app.ctx.services.access.close)
        app.ctx.readiness = Readiness(broker=broker, osc_server=streaming.osc_server)

    async def close_resources(app: Sanic) -> None:
        # Sockets were closed at before_server_stop, so listeners have left by now.
        await resources.aclose()

    app.register_listener(open_resources, "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
    collector = app.ctx.collector = CollectorPolicy(settings.gc_policy)

    async def freeze_start_up(app: Sanic) -> None:
        # Once serving: Sanic already handles SIGINT while its after_server_start
        # listeners run, but a stop then is lost, and freezing takes a moment.
        asyncio.get_running_loop().call_soon(collector.install)

    async def thaw(app: Sanic) -> None:
        await collector.remove()

    app.register_listener(freeze_start_up, "after_server_start")
    app.register_listener(thaw, "before_server_stop")
    on_connect, context_factory = websocket_hooks(app)
    # One task pings every socket (transport/keepalive.py); Sanic's own task per
    # socket is off.
    pings = app.ctx.keepalive = Keepalive(
        interval=settings.ws_ping_interval_s, timeout=settings.ws_ping_timeout_s
    )
    app.config.WEBSOCKET_PING_INTERVAL = None  # type: ignore[assignment]
    websocket = GraphQLWebSocketEndpoint(
        settings=SocketSettings(
            schema=schema,
            context_factory=context_factory,
            on_connect=on_connect,
            max_operations=settings.ws_max_operations,
            limits=app.ctx.query_limits,
            shared=SharedFeeds(SHAREABLE_SUBSCRIPTIONS, context_for=feed_context(app)),
            access_key=access_key,
            watch=staff_watch(app),
        ),
        check_origin=origin_allowed,
        init_timeout=settings.ws_init_timeout_s,
        budget=app.ctx.connection_budget,
        pings=pings,
    )
    add_graphql_route(
        app, "/graphql", websocket=websocket, http_handler=graphql_view, name="graphql"
    )
    app.ctx.multipart_parser = MultipartParser(
        spool_dir=settings.media_root / SPOOL_DIR, max_file_bytes=settings.max_upload_bytes
    )
    register_media(app, root=settings.media_root, media_url=settings.media_url)
    register_health(app)
    register_metrics(app)
    app.register_middleware(refuse_dot_dot, "request")
    app.static(
        "/static/graphiql",
        STATIC_DIR,
        name="graphiql_static",
        directory_handler=NoListing("/static/graphiql", STATIC_DIR),
    )
    return app
