"""The SQL statements a server in the test process runs, as Tortoise logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Statements(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lstrip()
        if message.upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            self.into.append(message)


@contextmanager
def recording_statements() -> Iterator[list[str]]:
    """Yields a list that receives the text of each statement run inside the block."""
    statements: list[str] = []
    handler = _Statements(statements)
    logger = logging.getLogger("tortoise.db_client")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def reads_of(statements: list[str], *tables: str) -> list[str]:
    """The SELECTs among ``statements`` whose first table is one of ``tables``."""
    quoted = {f'"{table}"' for table in tables}
    return [
        statement
        for statement in statements
        if statement.startswith("SELECT")
        and statement.partition(" FROM ")[2].split(" ", 1)[0] in quoted
    ]
