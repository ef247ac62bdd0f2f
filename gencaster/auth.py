"""Users, password hashing, server-side sessions and the staff rule.

Passwords are hashed with Argon2 (slow, salted and memory-hard by design), so hashing
runs on a small thread pool of its own: a flood of logins then queues for those few
threads instead of taking the default pool that file reads and speech use, and at
most that many hashes hold Argon2's memory at once. Those threads run at a lower
scheduling priority than the event loop (Linux), so a flood of logins slows only
logins, not every other request, and only so many logins may wait for a thread:
past that a login is refused at once (``TOO_MANY_REQUESTS``) rather than queued.

A session id is a random token sent only in an HttpOnly cookie; the database stores
an HMAC of it, so reading the table opens no session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from gencaster.errors import Conflict
from gencaster.text import unstorable_reason
from gencaster.throttle import FailureThrottle, SharedFailures, TooManyAttempts
from models import Session, User

SESSION_COOKIE = "gencaster_session"
USERNAME_MAX_LENGTH: int = User._meta.fields_map["username"].max_length  # type: ignore[attr-defined]
MAX_PASSWORD_CHARS = 4096
# An address may fail this many times as often as one user name before it waits.
ADDRESS_FACTOR = 4
MAX_NAME_KEY = 256
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown user as slow as a real one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


T = TypeVar("T")
# Hashing threads yield the CPU to the event loop: 10 steps nicer weighs about a tenth.
HASHING_NICENESS = 10


def _lower_thread_priority() -> None:
    """Make the calling thread ``HASHING_NICENESS`` steps nicer (Linux: per thread)."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + HASHING_NICENESS))


class PasswordHashing:
    """Hashes and verifies passwords on ``threads`` low-priority threads of its own.

    At most ``waiting`` calls may wait for a thread; one more raises ``TooManyAttempts``
    without hashing, so a flood costs neither memory nor an ever longer queue.
    """

    def __init__(self, threads: int = 2, *, waiting: int = 32) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="password",
            initializer=_lower_thread_priority,
        )
        self._slots = threads + waiting
        self._busy = 0

    async def hash(self, password: str) -> str:
        return await self._run(partial(_hasher.hash, password))

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(partial(_verify, password_hash, password))

    async def _run(self, work: Callable[[], T]) -> T:
        if self._busy >= self._slots:
            raise TooManyAttempts(1, message="Too many logins at once")
        self._busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self._busy -= 1

    def close(self) -> None:
        """Stop the threads; hashes already started finish, queued ones are dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_default_hashing: PasswordHashing | None = None


def default_hashing() -> PasswordHashing:
    """The pool of scripts and tests that build no ``Services``; made on first use."""
    global _default_hashing
    if _default_hashing is None:
        _default_hashing = PasswordHashing()
    return _default_hashing


async def hash_password(password: str, hashing: PasswordHashing | None = None) -> str:
    return await (hashing or default_hashing()).hash(password)


async def verify_password(
    password_hash: str, password: str, hashing: PasswordHashing | None = None
) -> bool:
    return await (hashing or default_hashing()).verify(password_hash, password)


async def create_user(
    *,
    username: str,
    password: str,
    is_staff: bool = False,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    if not username.strip():
        raise ValueError("A username must not be empty")
    _check_user_text(username=username, email=email, first_name=first_name, last_name=last_name)
    if any(unicodedata.category(char) == "Cc" for char in username):
        raise ValueError("A username must not hold control characters (tabs, newlines, ...)")
    if len(password) < 8:
        raise ValueError("A password needs at least 8 characters")
    if await User.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} exists already")
    try:
        return await User.create(
            username=username,
            password_hash=await hash_password(password),
            is_staff=is_staff,
            email=email,
            first_name=first_name,
            last_name=last_name,
        )
    except IntegrityError as exc:
        raise Conflict(f"A user named {username!r} exists already") from exc


def _check_user_text(**values: str) -> None:
    """Refuse what the user table cannot hold, naming the field; before any query."""
    for name, value in values.items():
        reason = unstorable_reason(value)
        if reason is not None:
            raise ValueError(f"The {name.replace('_', ' ')} {reason}")
        limit = User._meta.fields_map[name].max_length  # type: ignore[attr-defined]
        if limit is not None and len(value) > limit:
            raise ValueError(f"The {name.replace('_', ' ')} has at most {limit} characters")


def _plausible(username: str, password: str) -> bool:
    """Whether the credentials could belong to a user at all (storable, not over-long)."""
    return (
        0 < len(username) <= USERNAME_MAX_LENGTH
        and len(password) <= MAX_PASSWORD_CHARS
        and unstorable_reason(username) is None
        and unstorable_reason(password) is None
    )


async def authenticate(
    username: str, password: str, hashing: PasswordHashing | None = None
) -> User | None:
    """The active user with these credentials, or ``None``.

    Text no user can have is answered like an unknown user, as slowly as a real
    check, so a caller learns nothing from how a name is refused.
    """
    if not _plausible(username, password):
        await verify_password(_DUMMY_HASH, "", hashing)
        return None
    user = await User.get_or_none(username=username)
    if user is None:
        await verify_password(_DUMMY_HASH, password, hashing)
        return None
    if not await verify_password(user.password_hash, password, hashing) or not user.is_active:
        return None
    return user


@dataclass
class LoginGuard:
    """Throttles failed logins per user name and per client address, then checks them.

    An address may fail more often than a name before it waits: several people may
    share one address (a venue's network, a proxy). ``shared`` (with Redis) holds the
    same counts for every process, which the local ones only make cheaper to consult.
    """

    names: FailureThrottle
    addresses: FailureThrottle
    hashing: PasswordHashing
    shared: tuple[SharedFailures, SharedFailures] | None = None  # names, addresses

    @classmethod
    def create(
        cls,
        *,
        free: int,
        max_delay: float,
        threads: int,
        waiting: int = 32,
        redis: Redis | None = None,
        prefix: str = "gencaster",
    ) -> LoginGuard:
        address_free = ADDRESS_FACTOR * free
        shared = None
        if redis is not None:
            shared = (
                SharedFailures(
                    redis, scope="login-name", free=free, max_delay=max_delay, prefix=prefix
                ),
                SharedFailures(
                    redis,
                    scope="login-address",
                    free=address_free,
                    max_delay=max_delay,
                    prefix=prefix,
                ),
            )
        return cls(
            names=FailureThrottle(free=free, max_delay=max_delay),
            addresses=FailureThrottle(free=address_free, max_delay=max_delay),
            hashing=PasswordHashing(threads, waiting=waiting),
            shared=shared,
        )

    async def login(self, username: str, password: str, address: str) -> User | None:
        """The user, ``None`` for wrong credentials, or ``TooManyAttempts`` (nothing hashed)."""
        name = username.casefold()[:MAX_NAME_KEY]
        self.names.check([name])
        self.addresses.check([address])
        await self._check_shared(name, address)
        self.names.started([name])
        self.addresses.started([address])
        try:
            user = await authenticate(username, password, self.hashing)
        except BaseException:
            self.names.succeeded([name], forget=False)
            self.addresses.succeeded([address], forget=False)
            raise
        if user is None:
            self.names.failed([name])
            self.addresses.failed([address])
        else:
            self.names.succeeded([name])
            self.addresses.succeeded([address], forget=False)
        await self._record_shared(name, address, failed=user is None)
        return user

    async def _check_shared(self, name: str, address: str) -> None:
        if self.shared is None:
            return
        names, addresses = self.shared
        wait = max(await names.retry_after([name]), await addresses.retry_after([address]))
        if wait > 0:
            raise TooManyAttempts(wait)

    async def _record_shared(self, name: str, address: str, *, failed: bool) -> None:
        if self.shared is None:
            return
        names, addresses = self.shared
        if failed:
            await names.failed([name])
            await addresses.failed([address])
        else:
            await names.forget([name])

    async def close(self) -> None:
        """Stop the hashing threads and drop the connection the shared counts use."""
        self.hashing.close()
        if self.shared is not None:
            await self.shared[0].close()


async def _session_user(digest: str) -> tuple[str, datetime, User] | None:
    """The session with ``digest`` (its uuid and expiry) and its user, in one statement.

    Every request asks this, so the statement is written out: building it with the
    query builder cost more than running it.
    """
    client = Session._meta.db
    mark = "$1" if client.capabilities.dialect == "postgres" else "?"
    columns = ", ".join(f'u."{column}"' for column in User._meta.fields_db_projection.values())
    rows = await client.execute_query_dict(
        f'SELECT s."uuid" AS "session_uuid", s."expires_at" AS "session_expires_at", {columns} '
        f'FROM "session" s JOIN "user" u ON u."uuid" = s."user_id" WHERE s."token_digest" = {mark}',
        [digest],
    )
    if not rows:
        return None
    row = dict(rows[0])
    session_uuid = str(row.pop("session_uuid"))
    expiry = Session._meta.fields_map["expires_at"].to_python_value(row.pop("session_expires_at"))
    return session_uuid, expiry, User._init_from_db(**row)


@dataclass(frozen=True)
class SessionStore:
    """Creates, resolves and ends sessions; ``secret_key`` keys the token digest."""

    secret_key: str
    lifetime: timedelta = timedelta(days=14)

    def digest(self, token: str) -> str:
        return hmac.new(self.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()

    async def start(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        await Session.create(
            token_digest=self.digest(token), user=user, expires_at=now + self.lifetime
        )
        await User.filter(uuid=user.uuid).update(last_login=now)
        return token

    async def user_for(self, token: str | None) -> User | None:
        if not token or len(token) > 256:
            return None
        found = await _session_user(self.digest(token))
        if found is None:
            return None
        session_uuid, expires_at, user = found
        if not (expires_at > datetime.now(UTC) and user.is_active):  # Session.is_valid
            await Session.filter(uuid=session_uuid).delete()
            return None
        return user

    async def end(self, token: str | None) -> None:
        if token:
            await Session.filter(token_digest=self.digest(token)).delete()
