"""Reading a socket's messages under the ``connection_init`` deadline.

Both subprotocols give a client the same time to send ``connection_init`` and close
with 4408 when it does not (the legacy protocol sets no deadline of its own), so
the loop that enforces it lives here, below both handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gencaster.transport.ws.closecodes import CloseCode


class InitDeadlineReader:
    """Mixin: ``_read`` hands each message to ``handle_message`` until the socket closes.

    Until ``_init_received`` is set, reading waits at most ``init_timeout`` seconds
    from the start of the connection in total; then the socket is closed with 4408.
    """

    __slots__ = ()

    init_timeout: float
    _init_received: bool
    _closed: bool

    async def handle_message(self, message: object) -> None:
        raise NotImplementedError

    async def close(self, code: int, reason: str) -> None:
        raise NotImplementedError

    async def _read(self, messages: AsyncIterator[object]) -> None:
        deadline = asyncio.get_running_loop().time() + self.init_timeout
        while not self._closed:
            try:
                async with asyncio.timeout_at(None if self._init_received else deadline):
                    message = await anext(messages)
            except StopAsyncIteration:
                return
            except TimeoutError:
                await self.close(
                    CloseCode.CONNECTION_INIT_TIMEOUT, "Connection initialisation timeout"
                )
                return
            await self.handle_message(message)
            # Not kept while waiting for the next one, which may take the socket's lifetime.
            del message
