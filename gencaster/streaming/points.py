"""The database side of the OSC server: stream points beacon, acknowledge and get live-coded.

``StreamPointHandler`` implements ``gencaster.streaming.osc.OscHandler``. The OSC server
runs each call as its own task, concurrently and in any order, so every write here is
a single statement or tolerates losing a race.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.timezone import now

from gencaster.distributor import GenCasterChannel
from gencaster.media import MediaStore
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import Acknowledgement, Beacon, RemoteAction, password_matches
from gencaster.streaming.osc.messages import PROTOCOL_VERSION
from gencaster.supercollider import async_playback
from gencaster.text import clip
from gencaster.throttle import FailureThrottle
from gencaster.throttled_log import ThrottledLog
from models import AudioFile, LogLevel, StreamPoint

logger = logging.getLogger(__name__)

LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
DB_INT_MAX = 2**31 - 1  # StreamPoint's integer columns are 32-bit on PostgreSQL
MAX_TEXT_CHARS = 255  # StreamPoint's name and janus_public_ip columns

Speak = Callable[[str], Awaitable[Any]]
Play = Callable[[StreamPoint, Any], Awaitable[None]]


def buffer_player(dispatcher: InstructionDispatcher, media: MediaStore) -> Play:
    """A ``play`` for ``StreamPointHandler``: plays an ``AudioFile`` without waiting for it."""

    async def play(point: StreamPoint, audio_file: AudioFile) -> None:
        await dispatcher.send(point, async_playback(media.sc_path_of(audio_file)))

    return play


class StreamPointHandler:
    def __init__(
        self,
        *,
        dispatcher: InstructionDispatcher,
        channel: GenCasterChannel,
        logs: StreamLogWriter,
        osc_password: str,
        beacon_window_s: float,
        speak: Speak | None = None,
        play: Play | None = None,
        password_failures: FailureThrottle | None = None,
        allowed_networks: Sequence[str] = LOOPBACK_NETWORKS,
        max_points: int = 100,
    ) -> None:
        self._dispatcher = dispatcher
        self._channel = channel
        self._logs = logs
        self._osc_password = osc_password
        self._beacon_window_s = beacon_window_s
        self._speak = speak
        self._play = play
        # Wrong passwords slow their sender down, as failed logins do.
        self._password_failures = password_failures or FailureThrottle(free=5, max_delay=300.0)
        self._allowed = [ipaddress.ip_network(net, strict=False) for net in allowed_networks]
        self._max_points = max_points
        # New points are counted and created one at a time, so a burst cannot overshoot.
        self._creating = asyncio.Lock()
        self._foreign = ThrottledLog(logger, "beacons from outside the allowed networks")
        self._too_many = ThrottledLog(logger, "beacons past the stream point limit")
        self._rejections = ThrottledLog(logger, "rejected remote actions")
        self._bad_rooms = ThrottledLog(logger, "beacons with oversized rooms")

    async def on_beacon(self, host: str, beacon: Beacon) -> None:
        """Upsert the point keyed by (sender address, ``lang_port``).

        Publishes nothing: ``streams.update`` names a stream, and a beacon changes no
        stream; liveness is read from ``last_live`` when someone asks. Announcing every
        beacon (each point, every 5 s) would wake every streams subscriber for nothing.
        """
        if not self._allowed_host(host):
            self._foreign.log(
                logging.WARNING,
                "Ignored a beacon from %s: not in GENCASTER_OSC_ALLOWED_NETWORKS",
                host,
            )
            return
        values = self._point_values(host, beacon)
        if await _update_point(host, beacon.lang_port, values):
            return
        async with self._creating:
            await self._create_point(host, beacon, values)

    async def _create_point(self, host: str, beacon: Beacon, values: dict[str, Any]) -> None:
        if await _update_point(host, beacon.lang_port, values):
            return  # created while this beacon waited for the lock
        if await StreamPoint.live(self._beacon_window_s).count() >= self._max_points:
            self._too_many.log(
                logging.WARNING,
                "Ignored a new stream point at %s:%d: %d points are live already",
                host,
                beacon.lang_port,
                self._max_points,
            )
            return
        try:
            await StreamPoint.create(host=host, port=beacon.lang_port, **values)
        except IntegrityError:
            # Another process created the same point first; it exists now.
            await _update_point(host, beacon.lang_port, values)
            return
        logger.info("New stream point %r at %s:%d", clip(beacon.name), host, beacon.lang_port)

    def _allowed_host(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._allowed)

    def _point_values(self, host: str, beacon: Beacon) -> dict[str, Any]:
        return {
            "name": beacon.name[:MAX_TEXT_CHARS],
            "use_input": beacon.use_input,
            "janus_in_port": beacon.janus_in_port,
            "janus_out_port": beacon.janus_out_port,
            "janus_in_room": self._room(host, "janus_in_room", beacon.janus_in_room),
            "janus_out_room": self._room(host, "janus_out_room", beacon.janus_out_room),
            "janus_public_ip": (beacon.janus_public_ip or "")[:MAX_TEXT_CHARS] or None,
            "last_live": now(),
        }

    def _room(self, host: str, key: str, room: int | None) -> int | None:
        """A room the 32-bit column cannot hold is stored as unset, and the point still appears."""
        if room is not None and room > DB_INT_MAX:
            self._bad_rooms.log(
                logging.WARNING,
                "Beacon from %s: %s %d is too large; stored as unset",
                host,
                key,
                room,
            )
            return None
        return room

    async def on_acknowledgement(self, host: str, ack: Acknowledgement) -> None:
        await self._dispatcher.acknowledge(ack, host)

    async def on_remote_action(self, host: str, action: RemoteAction) -> None:
        """Live coding from a performer: checked password, then code or speech per target."""
        if action.protocol_version != PROTOCOL_VERSION:
            self._rejections.log(
                logging.WARNING, "Rejected a remote action from %s: unknown protocol version", host
            )
            return
        if self._password_failures.retry_after([host]):
            self._rejections.log(
                logging.WARNING,
                "Ignored a remote action from %s: too many wrong passwords, it must wait",
                host,
            )
            return
        if not password_matches(action.password, self._osc_password):
            self._password_failures.failed([host])
            self._rejections.log(
                logging.WARNING,
                "Rejected a remote %s action from %s: wrong password",
                action.action,
                host,
            )
            return
        self._password_failures.succeeded([host])
        points = await self._targets(action.target)
        if not points:
            logger.info("Remote %s action from %s: no live target", action.action, host)
            return
        if action.action == "code":
            await self._run_code(host, action.cmd, points)
        elif action.action == "speak":
            await self._speak_on(host, action.cmd, points)

    async def _targets(self, target: int | None) -> list[StreamPoint]:
        if target is None:
            return await StreamPoint.free_live(self._beacon_window_s)
        if not 0 <= target <= DB_INT_MAX:
            return []  # no column can hold such a room
        return await StreamPoint.live(self._beacon_window_s).filter(janus_out_room=target)

    async def _run_code(self, host: str, cmd: str, points: Sequence[StreamPoint]) -> None:
        for point in points:
            try:
                await self._dispatcher.send(point, cmd)
            except ValueError as error:
                logger.warning("Remote code from %s not sent to %s: %s", host, point.uuid, error)
                continue
            await self._log(point, f"Remote code from {host}: {cmd}")

    async def _speak_on(self, host: str, cmd: str, points: Sequence[StreamPoint]) -> None:
        if self._speak is None or self._play is None:
            logger.warning("Remote speak from %s ignored: speech is not available", host)
            return
        audio = await self._speak(cmd)
        for point in points:
            try:
                await self._play(point, audio)
            except Exception:
                # One broken point must not keep the others silent.
                logger.exception("Remote speech from %s failed on %s", host, point.uuid)
                continue
            await self._log(point, f"Remote speech from {host}: {cmd}")

    async def _log(self, point: StreamPoint, message: str) -> None:
        await self._logs.log(
            message,
            level=LogLevel.INFO,
            stream_point=point,
            origin="remote_action",
            name=__name__,
            retry=True,  # what a performer did is kept through a database outage
        )


async def _update_point(host: str, port: int, values: dict[str, Any]) -> bool:
    updated = await StreamPoint.filter(host=host, port=port).update(**values, modified_date=now())
    return bool(updated)
