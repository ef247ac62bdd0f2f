"""A migrated database per backend for this folder, opened fresh (and empty) per test.

``empty_database`` opens another, empty database of the same backend, as a second
server would have, for archives that travel between servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from gencaster.cli import migrate_database
from gencaster.db import MODEL_MODULES
from gencaster.media import MediaStore
from gencaster.settings import Settings
from models import AudioFile, Graph
from tests.support.databases import database

OpenDatabase = Callable[[], AbstractAsyncContextManager[str]]


@asynccontextmanager
async def _opened(kind: str, directory: Path) -> AsyncIterator[str]:
    async with database(kind, directory) as url:
        await migrate_database(Settings(data_dir=directory, database_url=url))
        config = {
            "connections": {f"authoring_{kind}": url},
            "apps": {
                "models": {"models": MODEL_MODULES, "default_connection": f"authoring_{kind}"}
            },
            "use_tz": True,
            "timezone": "UTC",
        }
        async with TortoiseContext() as context:
            await context.init(config=config)
            yield kind


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Path]]:
    yield request.param, tmp_path_factory.mktemp(f"authoring-{request.param}")


@pytest_asyncio.fixture(loop_scope="session")
async def db(backend: tuple[str, Path]) -> AsyncIterator[str]:
    kind, directory = backend
    async with _opened(kind, directory):
        await Graph.all().delete()
        await AudioFile.all().delete()
        yield kind


@pytest.fixture
def empty_database(backend: tuple[str, Path]) -> OpenDatabase:
    kind, directory = backend
    return lambda: _opened(kind, directory)


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(root=tmp_path / "media")
