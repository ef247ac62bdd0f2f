"""SQLite with what the filter lookups need, and Tortoise's engine module for it.

SQLite knows neither Unicode case nor regular expressions and its ``LIKE`` ignores
ASCII case, so ``register_sqlite_functions`` replaces ``upper`` and ``like`` and adds
``regexp``/``match``; without them ``contains`` would be case-insensitive for ASCII,
``iContains`` case-sensitive for non-ASCII and ``regex`` would fail. One letter maps to
one letter (``ß`` stays ``ß``), as in PostgreSQL.

This module is a Tortoise engine module (``client_class``): ``db.connection_config``
names it as the engine of SQLite URLs, so every connection Tortoise opens has them.

Its transactions begin ``IMMEDIATE``: they take the write lock at ``BEGIN``, waiting
for it up to the busy timeout. A deferred transaction that read first and writes
later fails at once with "database is locked" when another process wrote meanwhile
(its snapshot is stale, so SQLite cannot wait), which several workers on one file do.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import Capabilities, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

if TYPE_CHECKING:
    import aiosqlite
    from tortoise.backends.base.client import BaseDBAsyncClient


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


@lru_cache(maxsize=256)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == escape:
            parts.append(re.escape(next(chars, "")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _sqlite_like(pattern: Any, value: Any, escape: Any = None) -> bool | None:
    """Case-sensitive LIKE, as in PostgreSQL (SQLite's own ignores ASCII case)."""
    if pattern is None or value is None:
        return None
    return _like_pattern(_text(pattern), escape).fullmatch(_text(value)) is not None


def _sqlite_upper(value: Any) -> str | None:
    """Unicode UPPER(), one letter to one letter like PostgreSQL's (``ß`` stays ``ß``)."""
    if value is None:
        return None
    text = _text(value)
    upper = text.upper()
    if len(upper) == len(text):
        return upper
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def _sqlite_regexp(pattern: Any, value: Any) -> bool | None:
    if pattern is None or value is None:
        return None
    return _compiled(_text(pattern), 0).search(_text(value)) is not None


def _sqlite_iregexp(pattern: Any, value: Any) -> bool | None:
    if pattern is None or value is None:
        return None
    return _compiled(_text(pattern), re.IGNORECASE).search(_text(value)) is not None


async def register_sqlite_functions(connection: aiosqlite.Connection) -> None:
    """Give one SQLite connection what the lookups need: ``regexp`` (``X REGEXP Y``),
    ``match`` (``X MATCH Y``, Tortoise's ``iposix_regex``), a case-sensitive ``like``
    and a Unicode ``upper``. Functions belong to the connection: call again after a
    reconnect."""
    functions = (
        ("regexp", 2, _sqlite_regexp),
        ("match", 2, _sqlite_iregexp),
        ("like", 2, _sqlite_like),
        ("like", 3, _sqlite_like),
        ("upper", 1, _sqlite_upper),
    )
    for name, arity, function in functions:
        await connection.create_function(name, arity, function, deterministic=True)


async def install_sqlite_functions(client: BaseDBAsyncClient) -> bool:
    """Register the functions on a Tortoise SQLite client's current connection (opening it).

    Returns ``False`` for other databases, which need nothing. Tortoise reopens a
    connection after ``close()`` and when it is used from another event loop, and the new
    one lacks the functions: prefer ``SqliteClientWithFunctions``, which cannot forget."""
    if client.capabilities.dialect != "sqlite":
        return False
    async with client.acquire_connection() as connection:
        await register_sqlite_functions(connection)
    return True


class SqliteClientWithFunctions(SqliteClient):
    """Tortoise's SQLite client, with ``register_sqlite_functions`` run on every connection.

    Use it through an engine module (a module whose ``client_class`` is this class) named
    in the connection config: ``{"engine": "<that module>", "credentials": {...}}``."""

    capabilities = Capabilities(
        "sqlite",
        daemon=False,
        requires_limit=True,
        inline_comment=True,
        support_for_update=False,
        support_update_limit_order_by=False,
        support_for_posix_regex_queries=True,
        can_rollback_ddl=True,
        support_returning=True,
    )

    async def _post_connect(self) -> None:
        await super()._post_connect()
        if self._connection is not None:
            await register_sqlite_functions(self._connection)

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ImmediateTransaction(self), self._lock)


class _ImmediateTransaction(SqliteTransactionWrapper):
    """A top-level transaction that holds the write lock from its ``BEGIN``."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise TransactionManagementError(error) from error


client_class = SqliteClientWithFunctions

__all__ = [
    "SqliteClientWithFunctions",
    "client_class",
    "install_sqlite_functions",
    "register_sqlite_functions",
]
