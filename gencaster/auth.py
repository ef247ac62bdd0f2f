"""Users, password hashing, server-side sessions and the staff rule.

Passwords are hashed with Argon2 (slow and salted by design, so hashing runs in a
thread). A session id is a random token sent only in an HttpOnly cookie; the
database stores an HMAC of it, so reading the table opens no session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError

from gencaster.errors import Conflict
from models import Session, User

SESSION_COOKIE = "gencaster_session"
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown user as slow as a real one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


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


async def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``."""
    user = await User.get_or_none(username=username)
    if user is None:
        await verify_password(_DUMMY_HASH, password)
        return None
    if not await verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


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
        session = await Session.get_or_none(token_digest=self.digest(token)).select_related("user")
        if session is None:
            return None
        if session.expires_at <= datetime.now(UTC) or not session.user.is_active:
            await session.delete()
            return None
        return session.user

    async def end(self, token: str | None) -> None:
        if token:
            await Session.filter(token_digest=self.digest(token)).delete()
