"""Failed attempts slow down whoever makes them: logins and OSC remote actions.

A key (a user name, a client address) may fail ``free`` times; then it must wait
before trying again, and each further failure doubles the wait (1 s, 2 s, 4 s, … up
to ``max_delay``), and an attempt made while it waits is refused before any work
(no password is hashed). Success forgets the key. Keys are forgotten when their
wait has long passed, and at most ``max_keys`` are kept (the oldest go first), so a
flood from many addresses costs bounded memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from gencaster.errors import GencasterError


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
