"""Failed attempts slow down whoever makes them: logins and OSC remote actions.

A key (a user name, a client address) may fail ``free`` times; then it must wait
before trying again, and each further failure doubles the wait (1 s, 2 s, 4 s, … up
to ``max_delay``), and an attempt made while it waits is refused before any work
(no password is hashed). Success forgets the key. Keys are forgotten when their
wait has long passed, and at most ``max_keys`` are kept (the oldest go first), so a
flood from many addresses costs bounded memory. With Redis, ``SharedFailures`` adds
the failures counted by every other process and host.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gencaster.errors import GencasterError
from gencaster.throttled_log import ThrottledLog

logger = logging.getLogger(__name__)


class TooManyAttempts(GencasterError):
    """Refused without trying: the caller failed too often (``retry_after`` seconds)."""

    code = "TOO_MANY_REQUESTS"

    def __init__(self, retry_after: float, *, message: str = "Too many failed attempts") -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"{message}; try again in {self.retry_after} s")

    @property
    def extensions(self) -> dict[str, object]:
        return {"retryAfter": self.retry_after}


@dataclass
class _Record:
    failures: int = 0
    in_flight: int = 0
    blocked_until: float = 0.0
    last_seen: float = 0.0


class FailureThrottle:
    def __init__(
        self,
        *,
        free: int,
        max_delay: float,
        base_delay: float = 1.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.max_delay = max_delay
        self.base_delay = base_delay
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[Hashable, _Record] = OrderedDict()

    def retry_after(self, keys: Iterable[Hashable]) -> float:
        """Seconds until every key in ``keys`` may try again; 0 when they may now."""
        now = self._clock()
        waits = [self._wait(key, now) for key in keys]
        return max(waits, default=0.0)

    def check(self, keys: Iterable[Hashable]) -> None:
        """Raise ``TooManyAttempts`` if any key must still wait."""
        wait = self.retry_after(keys)
        if wait > 0:
            raise TooManyAttempts(wait)

    def started(self, keys: Iterable[Hashable]) -> None:
        """An attempt whose outcome takes a while (a hash) begins.

        Attempts under way count as possible failures, so parallel attempts cannot all
        pass ``check`` while the first ones are still being decided.
        """
        for key in keys:
            self._touch(key).in_flight += 1

    def failed(self, keys: Iterable[Hashable]) -> None:
        """An attempt failed: count it, and make the key wait once past ``free``."""
        now = self._clock()
        for key in keys:
            record = self._touch(key)
            record.in_flight = max(0, record.in_flight - 1)
            record.failures += 1
            excess = record.failures - self.free
            if excess >= 0:
                delay = min(self.max_delay, self.base_delay * 2 ** min(excess, 62))
                record.blocked_until = now + delay

    def succeeded(self, keys: Iterable[Hashable], *, forget: bool = True) -> None:
        """An attempt succeeded: forget the key's failures, or only end the attempt."""
        for key in keys:
            record = self._records.get(key)
            if record is None:
                continue
            record.in_flight = max(0, record.in_flight - 1)
            if forget:
                record.failures = 0
                record.blocked_until = 0.0
            if not record.failures and not record.in_flight:
                del self._records[key]

    def _touch(self, key: Hashable) -> _Record:
        record = self._records.pop(key, None) or _Record()
        record.last_seen = self._clock()
        self._records[key] = record  # newest last
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)
        return record

    def _wait(self, key: Hashable, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        if not record.in_flight and now - record.last_seen > 2 * self.max_delay + 60:
            del self._records[key]  # long quiet: start afresh
            return 0.0
        wait = max(0.0, record.blocked_until - now)
        if record.in_flight and record.failures + record.in_flight >= self.free:
            wait = max(wait, self.base_delay)
        return wait

    def __len__(self) -> int:
        return len(self._records)


class RatePerKey:
    """At most ``rate`` events a second per key, in bursts of up to ``burst``.

    A token bucket per key, refilled on use; the ``max_keys`` most recent keys are kept
    (a flood from many senders costs bounded memory and only forgets old budgets).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def allow(self, key: Hashable) -> bool:
        """Spend one token of ``key``; ``False`` when it has none left."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed


# Count one failure of KEYS[1]: ARGV = free, base delay, longest delay, key lifetime (s).
# Returns the wait now due, in seconds; times come from Redis, so hosts need not agree.
_FAILED_SCRIPT = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local excess = failures - tonumber(ARGV[1])
local wait = 0
if excess >= 0 then
  wait = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(excess, 62))
  redis.call('HSET', KEYS[1], 'until', tostring(now + wait))
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""
# The longest wait, in seconds, still due for any of KEYS.
_WAIT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ = tonumber(redis.call('HGET', key, 'until') or '0')
  if until_ - now > wait then wait = until_ - now end
end
return tostring(wait)
"""


class SharedFailures:
    """Failure counts that every server process sees, kept in Redis.

    Each process still keeps its own ``FailureThrottle`` (it refuses without a round
    trip, and counts attempts under way); this adds the failures made through other
    processes and hosts, so more workers do not mean more free guesses. Keys are
    stored hashed, never as the user typed them. When Redis cannot be reached the
    local counts alone decide, and the outage is logged (rate-limited).
    """

    def __init__(
        self,
        client: Redis,
        *,
        scope: str,
        free: int,
        max_delay: float,
        base_delay: float = 1.0,
        prefix: str = "gencaster",
    ) -> None:
        self._client = client
        self._prefix = f"{prefix}:throttle:{scope}:"
        self.free = free
        self.max_delay = max_delay
        self.base_delay = base_delay
        self._failed = client.register_script(_FAILED_SCRIPT)
        self._wait = client.register_script(_WAIT_SCRIPT)
        self._outage_log = ThrottledLog(logger, "failure counts not shared (Redis unreachable)")

    def _key(self, key: str) -> str:
        return self._prefix + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    async def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every key may try again, as all processes counted; 0 when unknown."""
        names = [self._key(key) for key in keys]
        try:
            return float(await self._wait(keys=names))
        except (RedisError, OSError) as error:
            self._outage_log.log(
                logging.WARNING, "Failure counts not shared: %s", type(error).__name__
            )
            return 0.0

    async def failed(self, keys: Iterable[str]) -> None:
        lifetime = math.ceil(2 * self.max_delay + 60)
        arguments = [self.free, self.base_delay, self.max_delay, lifetime]
        for key in keys:
            try:
                await self._failed(keys=[self._key(key)], args=arguments)
            except (RedisError, OSError) as error:
                self._outage_log.log(
                    logging.WARNING, "Failure counts not shared: %s", type(error).__name__
                )
                return

    async def close(self) -> None:
        """Close the Redis client (shared by the scopes made with it)."""
        await self._client.aclose(close_connection_pool=True)

    async def forget(self, keys: Iterable[str]) -> None:
        try:
            await self._client.delete(*(self._key(key) for key in keys))
        except (RedisError, OSError) as error:
            self._outage_log.log(
                logging.WARNING, "Failure counts not shared: %s", type(error).__name__
            )
