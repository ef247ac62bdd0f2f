"""Errors raised by brokers; Redis and socket errors are translated into these at the edge.

BrokerError              root: catch this to survive any broker failure
├── BrokerUnavailable    the backend could not be reached within the retry budget
├── BrokerRefused        the backend answered, but refused the command (e.g. an ACL)
├── BrokerClosed         the broker was closed; it cannot be started or used again
└── SubscriptionClosed   ``Subscription.get`` after the subscription ended
"""

from __future__ import annotations


class BrokerError(Exception):
    """Root of every broker error; callers that must not fail catch only this."""

    def __init__(self, message: str, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.channel = channel

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, channel={self.channel!r})"


class BrokerUnavailable(BrokerError):
    """The backend stayed unreachable for the whole retry budget."""


class BrokerRefused(BrokerError):
    """The backend is up but rejected the command; retrying will not help."""


class BrokerClosed(BrokerError):
    """The broker was closed; like httpx's client, it refuses to reopen."""

    def __init__(self, *, channel: str | None = None) -> None:
        super().__init__("The broker is closed", channel=channel)


class SubscriptionClosed(BrokerError):
    """The subscription ended (its block exited or the broker closed) and its queue is empty."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"The subscription to {channel!r} has ended", channel=channel)
