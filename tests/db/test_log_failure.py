"""A failure while the database is away is one line naming the cause; others keep a traceback."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from gencaster.db import log_failure
from tests.support.server import free_port

pytestmark = pytest.mark.asyncio


async def test_an_unreachable_database_is_logged_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
):
    log = logging.getLogger("gencaster.test_log_failure")
    caplog.set_level(logging.ERROR, logger=log.name)
    try:
        await asyncpg.connect(f"postgresql://nobody@127.0.0.1:{free_port()}/none", timeout=5)
    except Exception as error:  # a real refused connection, as in an outage
        log_failure(log, error, "Heartbeat of process %s failed", "p-1")
    try:
        {}["missing"]
    except KeyError as error:
        log_failure(log, error, "The engine of stream %s failed", "s-1")
    outage, bug = caplog.records
    assert outage.getMessage().startswith(
        "Heartbeat of process p-1 failed: the database is unavailable"
    )
    assert outage.exc_info is None
    assert bug.getMessage() == "The engine of stream s-1 failed"
    assert bug.exc_info is not None and bug.exc_info[0] is KeyError
