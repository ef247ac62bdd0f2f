"""Claims on streams' engines: at most one process runs a stream's engine at a time.

With Redis (every deployment of more than one process has it) a claim is a lease: the
key ``{prefix}:engine:{stream}`` set with ``SET … NX PX`` to a value naming its holder
(host, pid and a nonce), renewed every third of its lifetime by a compare-and-``PEXPIRE``
script, deleted by a compare-and-``DEL`` when the run lets go. A holder that dies stops
renewing and its lease expires after ``lease_s``; a live process then takes the claim.
A renewal Redis answers with "not yours" means another process holds the claim now: the
lease is *lost* and the run stops. A renewal that cannot reach Redis is not a loss: the
run goes on, and should another process take the claim meanwhile, the walk's fence
(``walks.py``) stops the old run at its next write, before it sends anything. A key
that vanished (Redis restarted without persistence) is set again by the renewal.

Without Redis there is one process and an in-process claim (``LocalClaims``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from abc import ABC, abstractmethod
from contextlib import suppress
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gencaster.tasks import TaskSet
from gencaster.throttled_log import ThrottledLog

logger = logging.getLogger(__name__)

# Renew our key; set it again if it is gone (a Redis restarted without persistence):
# had another run taken the walk meanwhile, the walk's fence would stop this one.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease(ABC):
    """One process's claim on one stream's engine."""

    def __init__(self, stream_uuid: UUID) -> None:
        self.stream_uuid = stream_uuid
        self.lost = asyncio.Event()  # set once another process holds the claim

    @abstractmethod
    async def release(self) -> None:
        """Let go (idempotent); another process may take the claim at once."""


class EngineClaims(ABC):
    @abstractmethod
    async def acquire(self, stream_uuid: UUID) -> Lease | None:
        """The claim on the stream's engine, or None while another process holds it."""

    async def holder(self, stream_uuid: UUID) -> str | None:
        """Who holds the claim (``host/pid/nonce``), for operators and tests."""
        return None

    @abstractmethod
    async def close(self) -> None:
        """Release every lease still held."""


class _LocalLease(Lease):
    def __init__(self, stream_uuid: UUID, claims: LocalClaims) -> None:
        super().__init__(stream_uuid)
        self._claims = claims

    async def release(self) -> None:
        if self._claims.held.get(self.stream_uuid) is self:
            del self._claims.held[self.stream_uuid]


class LocalClaims(EngineClaims):
    """One process, no Redis: a claim is an entry in a dict."""

    def __init__(self) -> None:
        self.held: dict[UUID, Lease] = {}

    async def acquire(self, stream_uuid: UUID) -> Lease | None:
        if stream_uuid in self.held:
            return None
        lease = self.held[stream_uuid] = _LocalLease(stream_uuid, self)
        return lease

    async def holder(self, stream_uuid: UUID) -> str | None:
        return f"{socket.gethostname()}/{os.getpid()}" if stream_uuid in self.held else None

    async def close(self) -> None:
        self.held.clear()


class _RedisLease(Lease):
    def __init__(self, stream_uuid: UUID, claims: RedisClaims, key: str, value: str) -> None:
        super().__init__(stream_uuid)
        self._claims = claims
        self._key = key
        self._value = value
        self._renewal = TaskSet()
        self._released = False
        self._renewal.start(self._renew_forever(), name=f"lease-{stream_uuid}")

    async def _renew_forever(self) -> None:
        interval = self._claims.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                renewed = await self._claims.redis.eval(
                    _RENEW, 1, self._key, self._value, self._claims.lease_ms
                )
            except (RedisError, OSError) as error:
                self._claims.outage_log.log(
                    logging.WARNING,
                    "Could not renew the engine lease of %s: %s",
                    self.stream_uuid,
                    type(error).__name__,
                )
                continue
            if not renewed:
                logger.warning("The engine lease of stream %s is held elsewhere", self.stream_uuid)
                self.lost.set()
                return

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        await self._renewal.cancel_all()
        self._claims.leases.pop(self.stream_uuid, None)
        with suppress(RedisError, OSError):
            await self._claims.redis.eval(_RELEASE, 1, self._key, self._value)


class RedisClaims(EngineClaims):
    """Leases in Redis (``SET NX PX``), renewed while the run lives."""

    def __init__(self, url: str, *, prefix: str, lease_s: float = 5.0) -> None:
        self.redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix
        self.lease_s = lease_s
        self.leases: dict[UUID, _RedisLease] = {}
        self._me = f"{socket.gethostname()}/{os.getpid()}"
        # Every lease renews every few seconds: an outage must not log each attempt.
        self.outage_log = ThrottledLog(logger, "engine lease renewals that failed")

    @property
    def lease_ms(self) -> int:
        return max(1, int(self.lease_s * 1000))

    def key(self, stream_uuid: UUID) -> str:
        return f"{self.prefix}:engine:{stream_uuid}"

    async def acquire(self, stream_uuid: UUID) -> Lease | None:
        value = f"{self._me}/{uuid.uuid4().hex}"
        key = self.key(stream_uuid)
        try:
            taken = await self.redis.set(key, value, nx=True, px=self.lease_ms)
        except (RedisError, OSError) as error:
            logger.warning("Could not claim the engine of stream %s: %r", stream_uuid, error)
            return None
        if not taken:
            return None
        lease = self.leases[stream_uuid] = _RedisLease(stream_uuid, self, key, value)
        return lease

    async def holder(self, stream_uuid: UUID) -> str | None:
        value = await self.redis.get(self.key(stream_uuid))
        if isinstance(value, bytes):
            return value.decode()
        return value

    async def close(self) -> None:
        for lease in list(self.leases.values()):
            await lease.release()
        await self.redis.aclose()


def create_claims(redis_url: str, *, prefix: str, lease_s: float) -> EngineClaims:
    """Redis leases where Redis is configured, else the single process's own claims."""
    if redis_url:
        return RedisClaims(redis_url, prefix=prefix, lease_s=lease_s)
    return LocalClaims()
