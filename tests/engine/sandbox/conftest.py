"""Helpers to run cells the way the engine does, and a task that proves the loop is alive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gencaster.engine.frontend import Dialog
from gencaster.engine.sandbox import Budget, CellContext, run_cell
from gencaster.engine.sandbox._compile import compile_code
from tests.support.lenient_sandbox import lift_finally_refusal


@dataclass
class CellOutcome:
    dialogs: list[Dialog] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    waits: list[tuple[str, float]] = field(default_factory=list)


RunCell = Callable[..., Awaitable[CellOutcome]]


@pytest.fixture
def run_code() -> RunCell:
    """Run a cell to its end; ``answers`` are what waiting for a variable returns."""

    async def run(
        code: str,
        variables: dict[str, Any] | None = None,
        *,
        budget: Budget | None = None,
        answers: dict[str, str] | None = None,
        outcome: CellOutcome | None = None,
    ) -> CellOutcome:
        outcome = outcome or CellOutcome()
        outcome.variables = variables if variables is not None else {}

        async def wait_for_stream_variable(name: str, seconds: float) -> str | None:
            outcome.waits.append((name, seconds))
            await asyncio.sleep(0.01)
            return (answers or {}).get(name)

        context = CellContext(
            variables=outcome.variables,
            wait_for_stream_variable=wait_for_stream_variable,
            log=outcome.log.append,
            budget=budget or Budget(),
        )
        async with contextlib.aclosing(run_cell(code, context)) as dialogs:
            async for dialog in dialogs:
                outcome.dialogs.append(dialog)
        return outcome

    return run


class Ticker:
    """Ticks every few milliseconds; the gaps show how long the event loop was blocked."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    async def run(self) -> None:
        while True:
            self.stamps.append(time.perf_counter())
            await asyncio.sleep(0.005)

    def ticks_since(self, moment: float) -> int:
        return sum(1 for stamp in self.stamps if stamp > moment)

    def longest_gap(self) -> float:
        return max((b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)), default=0)


@pytest.fixture
async def ticker() -> AsyncIterator[Ticker]:
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.02)
    yield ticker
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
def finally_escapes_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Runs code the static check refuses, to test the run-time defences on their own."""
    lift_finally_refusal(monkeypatch)
    yield
    compile_code.cache_clear()
