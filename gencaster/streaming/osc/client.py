"""The OSC client: sends ``/instruction`` datagrams to stream points from one UDP socket."""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import uuid as uuid_module

from .messages import INSTRUCTION_ADDRESS, MAX_PORT, encode_message

logger = logging.getLogger(__name__)

# The largest UDP payload over IPv4; the kernel refuses anything bigger, and asyncio
# would only report that to error_received, so the caller would never learn of it.
MAX_DATAGRAM_BYTES = 65507


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


class _Sender(asyncio.DatagramProtocol):
    def error_received(self, exc: Exception) -> None:
        # Typically an ICMP "port unreachable" for an earlier send to a dead point.
        logger.debug("OSC client socket error: %s", exc)


class OscClient:
    """One unconnected IPv4 UDP socket shared by every send; sending never blocks."""

    def __init__(self) -> None:
        self._state = _State.NEW
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        if self._state is not _State.NEW:
            raise RuntimeError(f"cannot start an OSC client that is {self._state.value}")
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(_Sender, local_addr=("0.0.0.0", 0))
        self._state = _State.RUNNING

    async def close(self) -> None:
        """Safe to call more than once; a closed client is not reopened."""
        self._state = _State.CLOSED
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def send_instruction(
        self, host: str, port: int, uuid: str, code: str, manual_finish: bool
    ) -> None:
        """Send ``/instruction [uuid, code, manual_finish]`` (OSC.md).

        ``host`` must be an IPv4 address (stream points are keyed by their beacon's
        sender address), so no DNS lookup can block the loop. ``manual_finish`` goes out
        as the OSC boolean tags ``T``/``F``: an int would make SuperCollider throw.
        """
        transport = self._transport
        if transport is None:
            raise RuntimeError("the OSC client is not running")
        datagram = _instruction_datagram(uuid, code, manual_finish)
        transport.sendto(datagram, (_ipv4(host), _port(port)))
        logger.debug("Sent instruction %s to %s:%d", uuid, host, port)


def _instruction_datagram(uuid: str, code: str, manual_finish: bool) -> bytes:
    if not isinstance(manual_finish, bool):
        raise TypeError("manual_finish must be a bool")
    try:
        canonical = str(uuid_module.UUID(uuid))
    except (ValueError, TypeError, AttributeError):
        raise ValueError("uuid must be a UUID string") from None
    if not isinstance(code, str) or "\0" in code:
        raise ValueError("code must be a string without NUL characters (OSC strings end at NUL)")
    datagram = encode_message(INSTRUCTION_ADDRESS, [canonical, code, manual_finish])
    if len(datagram) > MAX_DATAGRAM_BYTES:
        raise ValueError(f"instruction is {len(datagram)} bytes, over one UDP datagram")
    return datagram


def _ipv4(host: str) -> str:
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        raise ValueError(f"host must be an IPv4 address, got {host!r}") from None


def _port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_PORT:
        raise ValueError(f"port must be an integer in 1..{MAX_PORT}")
    return port
