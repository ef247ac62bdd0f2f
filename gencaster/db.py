"""The database of one process: its Tortoise configuration (shared by the app, the
tests and aerich) and ``open_database``, which opens and closes it as one pair.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext, set_global_context
from tortoise.exceptions import DBConnectionError

from gencaster.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long a SQLite connection waits for another connection's lock, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000

MODEL_MODULES = ["models.story_graph", "models.stream", "models.users", "aerich.models"]


def connection_config(database_url: str) -> str | dict[str, Any]:
    """SQLite URLs get the engine whose connections carry the filter functions.

    The journal is a write-ahead log synced at checkpoints (``synchronous=NORMAL``):
    a commit no longer waits for an fsync, and a crash of the process still loses
    none (the log is in the OS's hands); only a power cut may undo the last few
    commits, never leaving a torn database. A ``?synchronous=`` in the URL wins.

    A connection waits up to ``SQLITE_BUSY_TIMEOUT_MS`` for another process's write
    lock (other workers, an admin command) before "database is locked", which
    ``is_unavailable`` then counts as an outage. ``?busy_timeout=`` in the URL wins.
    """
    if not database_url.startswith("sqlite"):
        return database_url
    config = expand_db_url(database_url)
    config["engine"] = "gencaster.sqlite"
    config["credentials"].setdefault("journal_mode", "WAL")
    config["credentials"].setdefault("synchronous", "NORMAL")
    config["credentials"].setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


@asynccontextmanager
async def open_database(database_url: str) -> AsyncIterator[TortoiseContext]:
    """The ORM for every task of this process, closed again when the block exits.

    The context is this block's own, never one an earlier set-up left in the
    calling task (tests, migrations). It becomes the process's global fallback
    because Sanic runs each request, and each start and stop listener, in a task
    of its own; closing the context also clears that fallback.
    """
    _require_sqlite_folder(database_url)
    context = TortoiseContext()
    try:
        with context:  # current while the models bind to it
            await context.init(config=tortoise_config(database_url))
        set_global_context(context)
        yield context
    finally:
        await context.close_connections()


def _require_sqlite_folder(database_url: str) -> None:
    """Refuse a SQLite file whose folder is missing: SQLite cannot open it, and the
    failed connection's thread then outlives the event loop (a traceback, or a hang)."""
    if not database_url.startswith("sqlite"):
        return
    name = str(expand_db_url(database_url)["credentials"].get("file_path", ""))
    if name and name != ":memory:" and not Path(name).parent.is_dir():
        raise DBConnectionError(f"the folder of the SQLite file {name} does not exist")


# What a database that is down, restarting or unreachable raises, at any depth of
# the exception's cause chain (Tortoise wraps the driver's errors).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DBConnectionError,
    OSError,  # refused or reset connections, and timeouts
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def is_locked(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's lock held by another connection past the busy timeout."""
    return any(
        isinstance(cause, sqlite3.OperationalError)
        and str(cause).startswith(("database is locked", "database table is locked"))
        for cause in _causes(error)
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached (worth retrying).

    A SQLite database still locked after the busy timeout counts: it is as unusable
    for now as one that is down, and comes back by itself.
    """
    return any(isinstance(cause, _UNAVAILABLE) for cause in _causes(error)) or is_locked(error)


def log_failure(log: logging.Logger, error: BaseException, message: str, *args: object) -> None:
    """``message`` with its traceback, or one line naming the cause while the database is away.

    An outage is expected and explained by its cause; a traceback per failed step
    would bury the log an operator reads to see when it ended.
    """
    if is_locked(error):
        log.warning(message + ": the database is locked by another connection", *args)
    elif is_unavailable(error):
        log.error(message + ": the database is unavailable (%s)", *args, type(error).__name__)
    else:
        log.error(message, *args, exc_info=error)


async def retry_while_unavailable(attempt: Callable[[], Awaitable[T]], *, what: str) -> T:
    """``attempt()``, again with back-off for as long as the database is unreachable.

    For the writes nobody waits for (a listener's release, a point's acknowledgement,
    a log record): their cause has gone, so an outage must delay them, not lose them.
    ``attempt`` must be safe to repeat after an unknown outcome. Other errors raise at
    once, and cancelling the caller ends the retries. ``what`` names the write in the
    log ("release listener <uuid>"): a warning when it first fails, a line when it
    succeeds at last.
    """
    delays = _retry_delays()
    failures = 0
    while True:
        try:
            result = await attempt()
        except Exception as error:
            if not is_unavailable(error):
                raise
            failures += 1
            delay = next(delays)
            level = logging.WARNING if failures == 1 else logging.DEBUG
            logger.log(level, "Could not %s (%r); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            continue
        if failures:
            logger.info("Did %s after %d failed attempts", what, failures)
        return result


def _retry_delays(first: float = 0.1, cap: float = 2.0) -> Iterator[float]:
    """Doubling delays with jitter, so many writers do not retry in lock-step."""
    delay = first
    while True:
        yield delay * random.uniform(0.5, 1.0)
        delay = min(delay * 2, cap)


def __getattr__(name: str) -> Any:
    """``TORTOISE_ORM``, which aerich reads (``[tool.aerich]``): the environment's database.

    Built when asked for, so importing this module reads no settings: a bad setting
    is then reported once, by whoever checks the settings, not as an import error.
    """
    if name == "TORTOISE_ORM":
        return tortoise_config(Settings.from_env().database_url)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
