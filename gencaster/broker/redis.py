"""RedisBroker: Redis pub/sub shared by every process, one pub/sub connection per process.

A single reader task owns the pub/sub connection. It fans each message out to the
local subscribers of its channel and, whenever the connection is lost, reconnects
with back-off and re-subscribes every channel that still has local subscribers.
On the wire a channel is named ``f"{prefix}:{channel}"``: Redis pub/sub ignores db
numbers, so the prefix is what keeps deployments and test runs apart.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gencaster.broker.base import DEFAULT_MAX_QUEUE, Broker
from gencaster.broker.errors import BrokerRefused, BrokerUnavailable
from gencaster.metrics import BROKER_RECONNECTS

logger = logging.getLogger(__name__)

# Failures that a reconnect can cure; anything else is a bug or a refusal.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,  # includes the builtin TimeoutError raised by asyncio.timeout
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off between attempts: ``first`` seconds, doubling up to ``cap``."""

    first: float = 0.05
    cap: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            # Jitter keeps many processes from reconnecting in lock-step after a restart.
            yield delay * random.uniform(0.5, 1.0)
            delay = min(delay * 2, self.cap)


@dataclass(slots=True)
class _Pending:
    """The one SUBSCRIBE/UNSUBSCRIBE waiting for Redis to confirm it."""

    kind: bytes
    wire: bytes
    waiter: asyncio.Future[None]


class RedisBroker(Broker):
    """Carries messages between processes through Redis pub/sub.

    Each channel with local subscribers is subscribed upstream exactly once. Publishing
    retries for at most ``publish_timeout`` seconds, then raises ``BrokerUnavailable``.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "gencaster",
        max_queue: int = DEFAULT_MAX_QUEUE,
        publish_timeout: float = 1.0,
        command_timeout: float = 2.0,
        health_check_interval: float = 15.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(prefix=prefix, max_queue=max_queue)
        self._publish_timeout = publish_timeout
        self._command_timeout = command_timeout
        self._health_check_interval = health_check_interval
        self._backoff = backoff or Backoff()
        # No retries inside redis-py: this class owns every retry and reconnect decision.
        # RESP2, because redis-py delivers RESP3 pub/sub pushes to a handler, not to reads.
        self._pool = ConnectionPool.from_url(
            url,
            protocol=2,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=command_timeout,
            socket_timeout=command_timeout,
        )
        _check_connection_options(self._pool.connection_kwargs)
        self._client = Redis(connection_pool=self._pool)
        self._conn: AbstractConnection | None = None  # the pub/sub connection while it is up
        self._upstream: set[str] = set()  # channels subscribed on self._conn
        self._lock = asyncio.Lock()  # serialises (un)subscribes and re-subscription
        self._pending: _Pending | None = None
        self._first_attempt_done = asyncio.Event()
        # Set when a (re)connection subscribed channels; the PONG that follows its
        # SUBSCRIBE shows they are live, and then every subscriber gets RESYNC.
        self._resync_on_pong = False
        self._wire_prefix = f"{prefix}:"
        self.reconnects = 0  # connections re-established after a loss (metrics)

    async def publish(self, channel: str, message: bytes) -> None:
        self._check_publish(channel, message)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        delays = self._backoff.delays()
        while True:
            try:
                async with asyncio.timeout_at(deadline):  # also bounds a hung server
                    await self._client.publish(self._wire(channel), message)
                return
            except CONNECTION_ERRORS as exc:
                delay = next(delays)
                if loop.time() + delay >= deadline:
                    raise BrokerUnavailable(
                        f"Could not publish on {channel!r}: Redis is unreachable ({exc})",
                        channel=channel,
                    ) from exc
                await asyncio.sleep(delay)
            except RedisError as exc:
                raise BrokerRefused(
                    f"Redis refused to publish on {channel!r}: {exc}", channel=channel
                ) from exc

    async def ping(self) -> None:
        """Redis answers a command, and the pub/sub reader is connected."""
        await super().ping()
        async with asyncio.timeout(self._command_timeout):
            await self._client.ping()
        if self._conn is None:
            raise BrokerUnavailable("the Redis pub/sub connection is down")

    # Lifecycle.

    async def _start(self) -> None:
        self._spawn(self._run(), name=f"broker-reader:{self.prefix}")
        # Wait for the first attempt so that subscriptions made right after start() are
        # live; if Redis is down, the reader keeps trying in the background.
        with suppress(TimeoutError):
            async with asyncio.timeout(self._command_timeout * 2):
                await self._first_attempt_done.wait()
        if self._conn is None:
            logger.warning("Redis is unreachable at start-up; retrying in the background")

    async def _close(self) -> None:
        await self._drop_connection()
        await self._client.aclose()
        await self._pool.aclose()

    async def _channel_joined(self, channel: str) -> None:
        await self._sync_upstream(channel)

    async def _channel_left(self, channel: str) -> None:
        # An owned, shielded task: if this block is cancelled again while it unwinds,
        # the UNSUBSCRIBE still happens and Redis is not left subscribed for nobody.
        task = self._spawn(self._sync_upstream(channel), name=f"broker-unsubscribe:{channel}")
        await asyncio.shield(task)

    def _upstream_count(self) -> int:
        return len(self._upstream)

    # The reader task.

    async def _run(self) -> None:
        """Own the pub/sub connection for the broker's life, reconnecting after each loss."""
        loop = asyncio.get_running_loop()
        delays = self._backoff.delays()
        failures = 0
        while True:
            connected_at: float | None = None
            try:
                conn = await self._connect()
                connected_at = loop.time()
                if failures:
                    self.reconnects += 1
                    BROKER_RECONNECTS.inc()
                    logger.info("Reconnected to Redis after %d failed attempts", failures)
                self._first_attempt_done.set()
                await self._read(conn)
            except CONNECTION_ERRORS as exc:
                await self._drop_connection()
                self._first_attempt_done.set()
                # Start the back-off afresh only after a connection that lasted, so a
                # server that accepts and then drops us is not hammered every 50 ms.
                if connected_at is not None and loop.time() - connected_at > self._backoff.cap:
                    delays, failures = self._backoff.delays(), 0
                failures += 1
                delay = next(delays)
                # Warn on the first failure and then now and again, not every 2 s.
                level = logging.WARNING if failures % 10 == 1 else logging.DEBUG
                logger.log(
                    level,
                    "Redis pub/sub connection failed (%s); attempt %d, retrying in %.2f s",
                    exc,
                    failures,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _connect(self) -> AbstractConnection:
        conn = self._pool.make_connection()
        try:
            await conn.connect()
            async with self._lock:
                channels = list(self._subscribers)
                if channels:
                    wires = [self._wire(channel) for channel in channels]
                    await conn.send_command("SUBSCRIBE", *wires, check_health=False)
                    # Redis answers in order: once this PONG is back, the channels are
                    # live and a re-check can no longer miss a message.
                    await conn.send_command("PING", check_health=False)
                    self._resync_on_pong = True
                self._upstream = set(channels)
                self._conn = conn
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        return conn

    async def _read(self, conn: AbstractConnection) -> None:
        """Dispatch replies until the connection fails; PING after a silent interval."""
        ping_sent = False
        while True:
            try:
                reply = await conn.read_response(timeout=self._health_check_interval)
            except ResponseError as exc:
                self._refused(exc)
                continue
            if reply is None:
                if ping_sent:
                    raise RedisTimeoutError("Redis did not answer PING on the pub/sub connection")
                await conn.send_command("PING", check_health=False)
                ping_sent = True
                continue
            ping_sent = False
            self._dispatch(reply)

    def _dispatch(self, reply: object) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return  # a PONG outside subscribed mode
        kind = reply[0]
        if kind == b"message":
            channel = self._local(reply[1])
            if channel is not None:
                self._fan_out(channel, reply[2])
        elif kind == b"pong" and self._resync_on_pong:
            self._resync_on_pong = False
            self._resync()
        elif kind in (b"subscribe", b"unsubscribe"):
            pending = self._pending
            if pending and pending.kind == kind and pending.wire == reply[1]:
                _resolve(pending.waiter)

    def _refused(self, exc: ResponseError) -> None:
        logger.error("Redis refused a pub/sub command: %s", exc)
        if self._pending is not None:
            _fail(self._pending.waiter, BrokerRefused(f"Redis refused: {exc}"))

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._resync_on_pong = False
        self._upstream.clear()
        if self._pending is not None:
            _fail(self._pending.waiter, RedisConnectionError("The pub/sub connection was lost"))
        if conn is not None:
            await conn.disconnect(nowait=True)

    # Upstream (un)subscription.

    async def _sync_upstream(self, channel: str) -> None:
        """Make Redis's subscription to ``channel`` match whether anyone here listens."""
        async with self._lock:
            conn = self._conn
            if conn is None or not conn.is_connected:
                return  # the reader subscribes every wanted channel when it reconnects
            wanted = channel in self._subscribers
            if wanted == (channel in self._upstream):
                return
            if wanted:
                self._upstream.add(channel)
            else:
                self._upstream.discard(channel)
            await self._command(conn, "SUBSCRIBE" if wanted else "UNSUBSCRIBE", channel)

    async def _command(self, conn: AbstractConnection, command: str, channel: str) -> None:
        """Send one (UN)SUBSCRIBE and wait for the reader to see Redis confirm it."""
        wire = self._wire(channel)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending = _Pending(command.lower().encode(), wire.encode(), waiter)
        try:
            # Checked is_connected just before: send_command must not silently reconnect.
            await conn.send_command(command, wire, check_health=False)
            async with asyncio.timeout(self._command_timeout):
                await waiter
        except CONNECTION_ERRORS as exc:
            # The reader meets the same failure and re-subscribes after reconnecting.
            logger.warning("%s %r did not complete: %r", command, channel, exc)
        finally:
            self._pending = None
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # mark as retrieved if nobody awaited it

    def _wire(self, channel: str) -> str:
        return self._wire_prefix + channel

    def _local(self, wire: bytes) -> str | None:
        name = wire.decode("utf-8", errors="replace")
        if not name.startswith(self._wire_prefix):
            return None
        return name[len(self._wire_prefix) :]


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _fail(waiter: asyncio.Future[None], exc: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(exc)


def _check_connection_options(options: dict[str, object]) -> None:
    """Fail at start-up on URL options the pub/sub reader cannot work with."""
    if str(options.get("protocol", 2)) != "2":
        raise ValueError("RedisBroker needs protocol=2 (RESP2); remove 'protocol' from the URL")
    if options.get("decode_responses"):
        raise ValueError("RedisBroker carries bytes; remove 'decode_responses' from the URL")
