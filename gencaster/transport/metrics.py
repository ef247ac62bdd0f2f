"""``/metrics``: the Prometheus text, for the addresses and token the settings allow.

By default only loopback may read it (a scraper on the same host, or an SSH tunnel).
``GENCASTER_METRICS_TOKEN`` adds a bearer token; ``GENCASTER_METRICS_NETWORKS`` says
which client networks may ask at all (an empty list turns the endpoint off).
"""

from __future__ import annotations

import gc
import hmac
import ipaddress
import logging
import os

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse, raw, text

from gencaster.metrics import (
    CONTENT_TYPE,
    GC_FROZEN,
    HTTP_REQUESTS,
    STREAM_POINTS_LIVE,
    exposition,
    worker_exited,
)
from gencaster.settings import Settings
from models import StreamPoint

logger = logging.getLogger(__name__)


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """The client's network is allowed and, where a token is set, it sent that token."""
    # Behind trusted proxies remote_addr is the real client; the proxy itself is loopback.
    address = request.remote_addr or request.ip
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = (ipaddress.ip_network(net, strict=False) for net in settings.metrics_networks)
    if not any(client in network for network in networks):
        return False
    if not settings.metrics_token:
        return True
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(sent.encode(), settings.metrics_token.encode())


async def metrics(request: Request) -> HTTPResponse:
    settings: Settings = request.app.ctx.settings
    if not metrics_allowed(request, settings):
        return text("Forbidden", status=403)
    GC_FROZEN.set(gc.get_freeze_count())
    try:
        STREAM_POINTS_LIVE.set(await StreamPoint.live(settings.beacon_window_s).count())
    except Exception:
        logger.debug("Could not count live stream points", exc_info=True)
    return raw(exposition(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


# The status counted for a request whose client left before its answer (nginx's 499).
CLIENT_CLOSED = "499"


def client_closed(request: Request) -> bool:
    """Whether the client went away before the answer: Sanic then makes up a 500."""
    info = request.conn_info
    if info is not None and info.lost:
        return True
    transport = request.transport
    return transport is not None and transport.is_closing()


async def count_response(request: Request, response: BaseHTTPResponse) -> None:
    """Count the answer by status; a listener navigating away is no server error."""
    status = CLIENT_CLOSED if client_closed(request) else str(response.status)
    HTTP_REQUESTS.labels(status=status).inc()


async def forget_worker(app: Sanic) -> None:
    """A stopping worker's open-socket and listener gauges leave the totals with it."""
    worker_exited(os.getpid())


def register_metrics(app: Sanic) -> None:
    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics")
    app.register_middleware(count_response, "response")
    app.register_listener(forget_worker, "after_server_stop")
