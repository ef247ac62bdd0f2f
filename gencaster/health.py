"""Liveness and readiness of one server process, for load balancers and orchestrators.

Readiness asks each part this process depends on, each within a short time, so a
probe never hangs: the database answers and has every migration, the broker
carries messages, and the OSC socket is open where this process runs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tortoise import connections

from gencaster.broker import Broker
from gencaster.migrations import pending_versions
from gencaster.streaming.osc import OscServer

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 2.0


class NotReady(Exception):
    """One part is unusable; the message says why, without secrets."""


@dataclass
class Readiness:
    """Checks the parts of one process; remembers once migrations were all applied."""

    broker: Broker
    osc_server: OscServer | None = None
    _migrated: bool = field(default=False, init=False)

    async def check(self) -> dict[str, str]:
        """``{part: "ok" | reason}`` for the database, migrations, broker and OSC socket."""
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "database": self._database,
            "migrations": self._migrations,
            "broker": self.broker.ping,
        }
        if self.osc_server is not None:
            checks["osc"] = self._osc
        results = await asyncio.gather(*(_run(check) for check in checks.values()))
        return dict(zip(checks, results, strict=True))

    async def _database(self) -> None:
        await connections.get("default").execute_query("SELECT 1")

    async def _migrations(self) -> None:
        if self._migrated:
            return
        pending = await pending_versions()
        if pending:
            raise NotReady(f"{len(pending)} migration(s) pending: run `gencaster migrate`")
        self._migrated = True

    async def _osc(self) -> None:
        if self.osc_server is None or not self.osc_server.listening:
            raise NotReady("the OSC socket is closed")


async def _run(check: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    except NotReady as exc:
        return str(exc)
    except Exception as exc:
        # The answer is anonymous: only the error's kind, the details go to the log.
        logger.debug("Readiness check failed", exc_info=True)
        return type(exc).__name__
    return "ok"
