"""``/healthz`` and ``/readyz``: anonymous, cheap, JSON bodies for people reading them."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json


async def healthz(request: Request) -> HTTPResponse:
    """The process answers: its event loop runs. Nothing else is asked."""
    return json({"status": "ok"})


async def readyz(request: Request) -> HTTPResponse:
    """200 when every part this process needs is usable, else 503 naming what is not."""
    readiness = getattr(request.app.ctx, "readiness", None)
    if readiness is None:
        return json({"status": "starting"}, status=503)
    checks = await readiness.check()
    ready = all(result == "ok" for result in checks.values())
    return json(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def register_health(app: Sanic) -> None:
    app.add_route(healthz, "/healthz", methods=["GET", "HEAD"], name="healthz")
    app.add_route(readyz, "/readyz", methods=["GET", "HEAD"], name="readyz")
