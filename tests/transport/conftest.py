"""A server with changed settings, for tests of the limits themselves.

The ORM is process-wide, so a module that uses this must not also use ``server``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest_asyncio

from gencaster.cli import migrate_database
from tests.conftest import make_settings
from tests.support.databases import database
from tests.support.server import RunningServer, running_server


@pytest_asyncio.fixture(loop_scope="session")
async def server_with(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start one SQLite server with changed settings (at most one per test)."""
    async with AsyncExitStack() as stack:

        async def start(**changes: Any) -> RunningServer:
            url = await stack.enter_async_context(database("sqlite", tmp_path))
            settings = make_settings(tmp_path, url, **changes)
            await migrate_database(settings)
            return await stack.enter_async_context(running_server(settings))

        yield start
