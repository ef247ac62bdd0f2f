"""Losing a login ends what it allowed: open staff subscriptions end with the session.

``AccessWatch`` knows, per process, every open operation that needs a staff session
(a WebSocket subscription, typically) and the session it runs on. It ends such an
operation (``UNAUTHENTICATED``) when

- the session ends (logout, or a new login on the same socket): at once, in every
  process, through an ``access.revoked`` message on the broker;
- the session expires: at its expiry time;
- the user is deactivated or loses staff rights, however that was written: the
  watch re-checks all its sessions in one query every ``audit_interval`` seconds,
  and at once for a user named in an ``access.revoked`` message.

The audit also covers a revocation message lost while the broker was down.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from tortoise.exceptions import BaseORMException

from gencaster.distributor import GenCasterChannel, Update
from gencaster.errors import Unauthenticated
from gencaster.tasks import TaskSet
from models import Session

logger = logging.getLogger(__name__)

REVOKED_MESSAGE = "Your login has ended; log in again to go on"
# Database and connection failures the audit waits out (it runs again later).
_TRANSIENT = (BaseORMException, OSError, ConnectionError, asyncio.TimeoutError)


@dataclass(eq=False, slots=True)
class Watched:
    """One watched operation: ``revoke`` ends it; ``revoked`` tells whether it was."""

    digest: str
    user_uuid: UUID
    revoke_callback: Callable[[Unauthenticated], None]
    revoked: Unauthenticated | None = None

    def revoke(self) -> None:
        if self.revoked is not None:
            return
        self.revoked = Unauthenticated(REVOKED_MESSAGE)
        self.revoke_callback(self.revoked)


class Expiries:
    """Revokes each entry at its session's expiry, with one timer for all of them.

    Every watched subscription has an expiry, and a timer each (a handle, its
    arguments and a copy of the context) was half a kilobyte per socket. Entries that
    stopped being watched stay in the heap until it is tidied or they come due.
    """

    __slots__ = ("_heap", "_order", "_timer", "_watched")

    def __init__(self, watched: set[Watched]) -> None:
        self._watched = watched
        self._heap: list[tuple[float, int, Watched]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, entry: Watched, delay: float) -> None:
        """Revoke ``entry`` after ``delay`` seconds if it is still watched then."""
        if len(self._heap) > 2 * len(self._watched) + 64:
            self._heap = [item for item in self._heap if item[2] in self._watched]
            heapq.heapify(self._heap)
        loop = asyncio.get_running_loop()
        heapq.heappush(self._heap, (loop.time() + max(delay, 0.0), next(self._order), entry))
        if self._heap[0][2] is entry:
            self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._heap:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(self._heap[0][0], self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)[2]
            if entry in self._watched:
                entry.revoke()
        self._arm()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._heap.clear()


class Watching:
    """``AccessWatch.watch``: the block's entry while it runs (``None`` without a session).

    A small class rather than a generator-based context manager: every staff
    subscription holds one for as long as it runs.
    """

    __slots__ = ("_access", "_entry", "_on_revoke", "_token")

    def __init__(
        self,
        access: AccessWatch,
        token: str | None,
        on_revoke: Callable[[Unauthenticated], None],
    ) -> None:
        self._access = access
        self._token = token
        self._on_revoke = on_revoke
        self._entry: Watched | None = None

    async def __aenter__(self) -> Watched | None:
        self._entry = await self._access._enter(self._token, self._on_revoke)
        return self._entry

    async def __aexit__(self, *exc_info: object) -> None:
        if self._entry is not None:
            self._access._leave(self._entry)


class AccessWatch:
    def __init__(
        self,
        *,
        channel: GenCasterChannel,
        digest: Callable[[str], str],
        audit_interval: float = 10.0,
    ) -> None:
        self._channel = channel
        self._digest = digest
        self._audit_interval = audit_interval
        self._watched: set[Watched] = set()
        self._expiries = Expiries(self._watched)
        self._tasks = TaskSet()

    @property
    def watched(self) -> int:
        return len(self._watched)

    async def start(self) -> None:
        self._tasks.start(self._run(), name="access-watch")

    async def close(self) -> None:
        self._expiries.close()
        await self._tasks.cancel_all()

    def watch(self, token: str | None, on_revoke: Callable[[Unauthenticated], None]) -> Watching:
        """Watch the block's session; ``on_revoke`` is called once if it is lost."""
        return Watching(self, token, on_revoke)

    async def _enter(
        self, token: str | None, on_revoke: Callable[[Unauthenticated], None]
    ) -> Watched | None:
        found = await self._entry(token, on_revoke)
        if found is None:
            return None
        entry, delay = found
        self._watched.add(entry)
        self._expiries.add(entry, delay)
        return entry

    def _leave(self, entry: Watched) -> None:
        self._watched.discard(entry)

    async def _entry(
        self, token: str | None, on_revoke: Callable[[Unauthenticated], None]
    ) -> tuple[Watched, float] | None:
        """The entry of ``token``'s session and the seconds until the session expires.

        Only the digest and the user's uuid stay: a subscription watches for as long as
        it runs, and a session row kept per socket was several KiB of each.
        """
        if not token or len(token) > 256:
            return None
        session = await Session.get_or_none(token_digest=self._digest(token))
        if session is None:
            return None
        entry = Watched(session.token_digest, session.user_id, on_revoke)  # type: ignore[attr-defined]
        return entry, (session.expires_at - datetime.now(UTC)).total_seconds()

    # Revocations: published by whoever ends a session or changes a user.

    async def session_ended(self, token: str) -> None:
        digest = self._digest(token)
        self._revoke(lambda entry: entry.digest == digest)
        await self._channel.publish_access_revoked(session_digest=digest)

    async def user_changed(self, user_uuid: UUID) -> None:
        await self._channel.publish_access_revoked(user_uuid=user_uuid)
        await self._audit(lambda entry: entry.user_uuid == user_uuid)

    def _revoke(self, matches: Callable[[Watched], bool]) -> None:
        for entry in [entry for entry in self._watched if matches(entry)]:
            entry.revoke()

    async def _run(self) -> None:
        async with self._channel.subscribe(self._channel.ACCESS_CHANNEL) as updates:
            listener = asyncio.get_running_loop().create_task(self._listen(updates))
            try:
                while True:
                    await asyncio.sleep(self._audit_interval)
                    await self._audit(lambda entry: True)
            finally:
                listener.cancel()
                with suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self, updates: AsyncIterator[Update]) -> None:
        async for update in updates:
            if update.is_resync:
                await self._audit(lambda entry: True)
            elif update.data.get("kind") == "session":
                self._revoke(_with_digest(update.uuid))
            elif update.data.get("kind") == "user":
                await self._audit(_of_user(update.uuid))

    async def _audit(self, selects: Callable[[Watched], bool]) -> None:
        """Revoke the selected entries whose session is gone, expired, inactive or not staff."""
        entries = [entry for entry in self._watched if selects(entry) and entry.revoked is None]
        if not entries:
            return
        digests = {entry.digest for entry in entries}
        try:
            valid = set(
                await Session.valid()
                .filter(token_digest__in=list(digests), user__is_staff=True)
                .values_list("token_digest", flat=True)
            )
        except _TRANSIENT as error:
            logger.warning("Could not re-check sessions (%s); trying again later", error)
            return
        for entry in entries:
            if entry.digest not in valid:
                entry.revoke()


def _with_digest(digest: object) -> Callable[[Watched], bool]:
    """Selects the entries of one session."""
    return lambda entry: entry.digest == digest


def _of_user(user: object) -> Callable[[Watched], bool]:
    """Selects the entries of one user (``user`` as the text of a uuid)."""
    return lambda entry: str(entry.user_uuid) == user
