"""Brokers carry bytes on named channels between the processes of one deployment.

``create_broker`` turns a URL into a backend: nothing or ``memory://`` gives a
``MemoryBroker`` (one process), ``redis://`` or ``rediss://`` a ``RedisBroker``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gencaster.broker.base import Broker, BrokerStats, Subscription
from gencaster.broker.errors import (
    BrokerClosed,
    BrokerError,
    BrokerRefused,
    BrokerUnavailable,
    SubscriptionClosed,
)
from gencaster.broker.memory import MemoryBroker
from gencaster.broker.redis import Backoff, RedisBroker

__all__ = [
    "Backoff",
    "Broker",
    "BrokerClosed",
    "BrokerError",
    "BrokerRefused",
    "BrokerStats",
    "BrokerUnavailable",
    "MemoryBroker",
    "RedisBroker",
    "Subscription",
    "SubscriptionClosed",
    "create_broker",
]


def create_broker(url: str | None, *, prefix: str = "gencaster") -> Broker:
    """The broker for ``url``; an empty URL means a single process with no Redis."""
    if not url:
        return MemoryBroker(prefix=prefix)
    # Name only the scheme in errors: the rest of the URL may hold a password.
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBroker(prefix=prefix)
    if scheme in ("redis", "rediss"):
        return RedisBroker(url, prefix=prefix)
    raise ValueError(f"Unknown broker URL scheme {scheme!r}; use memory://, redis:// or rediss://")
