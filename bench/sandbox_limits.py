"""How fast the sandbox stops runaway code, and how long it holds the event loop.

    .venv/bin/python -m bench.sandbox_limits

Runs the huge values, growing cells and endless loops of ``tests/engine/sandbox/
test_limits.py`` and the escape attempts of ``test_escapes.py`` once each, with a ticker
task beside them, and prints for each group the slowest time to ``SandboxError`` (or the
static refusal) and the longest gap between ticks (how long the event loop was held). The
tests check that each one is stopped; the times are here because a busy machine stretches
them. Targets: under 1 s to stop, gaps under the time slice
(``Budget().max_slice_seconds``) plus 0.3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable

from gencaster.engine.sandbox import (
    Budget,
    CellContext,
    InvalidPythonCode,
    SandboxError,
    check_cell,
    check_expression,
    evaluate_expression,
    run_cell,
)
from tests.engine.sandbox.test_escapes import CELL_ESCAPES, EXPRESSION_ESCAPES
from tests.engine.sandbox.test_limits import HUGE_CELLS, HUGE_VALUES

ENDLESS_CELLS = [
    "await asyncio.sleep(0.05)\nwhile True:\n    pass",
    "def f():\n    return f()\nf()",
    "g = (i for i in range(10**5) for j in range(10**5))\nfor x in g:\n    pass",
]


async def _never(name: str, seconds: float) -> str | None:
    return None


async def _run(code: str) -> None:
    context = CellContext({}, _never, lambda line: None, Budget())
    async for _ in run_cell(code, context):
        pass


async def _ticks(stamps: list[float]) -> None:
    while True:
        stamps.append(time.perf_counter())
        await asyncio.sleep(0.005)


async def measure(name: str, cases: list[str], run: Callable[[str], Awaitable[None]]) -> None:
    stamps: list[float] = []
    ticker = asyncio.create_task(_ticks(stamps))
    await asyncio.sleep(0.02)
    slowest = 0.0
    for code in cases:
        started = time.perf_counter()
        with contextlib.suppress(SandboxError, InvalidPythonCode):
            await run(code)
        slowest = max(slowest, time.perf_counter() - started)
    ticker.cancel()
    gap = max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)
    print(f"{name:14s} {len(cases):3d} cases: slowest stop {slowest:6.3f} s, loop gap {gap:6.3f} s")


async def _evaluate(code: str) -> None:
    evaluate_expression(code, {})


async def _check_and_run(code: str) -> None:
    check_cell(code)
    await _run(code)


async def _check_and_evaluate(code: str) -> None:
    check_expression(code)
    evaluate_expression(code, {})


async def main() -> None:
    await measure("huge values", HUGE_VALUES, _evaluate)
    await measure("growing cells", HUGE_CELLS, _run)
    await measure("endless cells", ENDLESS_CELLS, _run)
    await measure("cell escapes", CELL_ESCAPES, _check_and_run)
    await measure("door escapes", EXPRESSION_ESCAPES, _check_and_evaluate)


if __name__ == "__main__":
    asyncio.run(main())
