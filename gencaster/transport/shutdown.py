"""How ``gencaster serve`` stops: promptly, and at once on a second stop signal.

Sanic waits up to ``GRACEFUL_SHUTDOWN_TIMEOUT`` for every open connection, so one
client trickling a request body held every stop for that long; and while it waits
its own signal handlers are gone, so a second Ctrl-C interrupted the shutdown half
way and left a process that never exited (its database thread still running).

Here, once a stop has begun:

- a connection still receiving its request (head or body) gets ``BODY_GRACE_S``
  to finish sending it, then is closed: nobody is waiting for its answer yet;
- requests whose handlers run are answered, within Sanic's grace;
- a second SIGINT or SIGTERM closes every connection at once, so the stop goes
  straight on to closing the app's resources, and the process ends by itself
  or, at the latest, ``FORCED_EXIT_S`` later; a third ends it immediately.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from typing import Any

from sanic import Sanic
from sanic.http.constants import Stage

from gencaster.transport.connections import GuardedProtocol

logger = logging.getLogger(__name__)

BODY_GRACE_S = 1.0  # for a request still arriving when the stop begins
HANDLER_GRACE_S = 10.0  # Sanic's grace, for handlers still running
FORCED_EXIT_S = 5.0  # after a second signal, whatever is still running
FORCED_EXIT_CODE = 130  # the shell's code for "ended by Ctrl-C"


class StoppableProtocol(GuardedProtocol):
    """Hands the app the set of open connections, which Sanic keeps to itself."""

    def connection_made(self, transport: Any) -> None:
        self.app.ctx.open_connections = self.connections
        super().connection_made(transport)


def _still_receiving(connection: Any) -> bool:
    """Whether a connection's request (head or body) has not fully arrived yet."""
    http = getattr(connection, "_http", None)
    if http is None:
        return False
    return bool(http.stage is Stage.REQUEST or (http.stage is Stage.HANDLER and http.request_body))


def _close(connection: Any) -> None:
    websocket = getattr(connection, "websocket", None)
    if websocket is not None:
        websocket.fail_connection(code=1001)
    else:
        connection.abort()


class StopSignals:
    """Counts stop signals from the moment Sanic's stop begins."""

    def __init__(self, app: Sanic) -> None:
        self.app = app
        self.signals = 0

    def _connections(self) -> list[Any]:
        return list(getattr(self.app.ctx, "open_connections", ()))

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        # Sanic removed its handlers when the stop began: a signal would now raise
        # KeyboardInterrupt in the middle of the shutdown.
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self.again)

    def again(self) -> None:
        self.signals += 1
        if self.signals > 1:
            os._exit(FORCED_EXIT_CODE)
        logger.warning("Stop signal again: closing every connection now")
        for connection in self._connections():
            _close(connection)
        timer = threading.Timer(FORCED_EXIT_S, os._exit, (FORCED_EXIT_CODE,))
        timer.daemon = True
        timer.start()

    async def close_slow_clients(self) -> None:
        """After ``BODY_GRACE_S``, close the connections still sending a request."""
        await asyncio.sleep(BODY_GRACE_S)
        slow = [c for c in self._connections() if _still_receiving(c)]
        if slow:
            logger.info("Closing %d connection(s) still sending a request", len(slow))
        for connection in slow:
            _close(connection)


def stop_once_started(app: Sanic) -> None:
    """A stop signal while a single-process server starts stops it once it has started.

    Sanic binds the socket, and answers, a moment before it takes over SIGINT and
    SIGTERM: a Ctrl-C then was a KeyboardInterrupt inside its start-up, a traceback
    and resources never closed. A second signal in that moment ends the process.
    Call from the main thread just before serving.
    """
    early: list[int] = []

    def remember(number: int, frame: object) -> None:
        early.append(number)
        if len(early) > 1:
            os._exit(FORCED_EXIT_CODE)
        logger.warning("Stop signal while starting: stopping once started")

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, remember)

    async def started(app: Sanic) -> None:
        if early:
            app.stop(terminate=False)

    app.register_listener(started, "after_server_start")


def install_stop_handling(app: Sanic) -> None:
    """Register the listeners after the app's own: Sanic runs stop listeners last first."""
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = HANDLER_GRACE_S
    stops = StopSignals(app)
    tasks: set[asyncio.Task[None]] = set()

    async def stopping(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        stops.install(loop)
        task = loop.create_task(stops.close_slow_clients())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def stopped(app: Sanic) -> None:
        for task in tasks:
            task.cancel()

    app.register_listener(stopping, "before_server_stop")
    app.register_listener(stopped, "after_server_stop")
