"""Runaway code is stopped with SandboxError, and the event loop keeps running.

How fast, and how long the loop is held, is measured by ``bench/sandbox_limits.py``: a busy
machine stretches wall-clock times, so the tests check what happens, not when.
"""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from gencaster.engine.sandbox import (
    Budget,
    SandboxError,
    evaluate_expression,
    execute_statements,
)
from tests.support.polling import eventually

from .conftest import RunCell, Ticker

HUGE_VALUES = [
    '"a" * 10**10',
    "10**10**10",
    "[0] * 10**9",
    "2 << 10**9",
    '"x" * 10**6 * 10**6',
    "(2**4000) * (2**4000)",
    "2**4096 + 2**4096",
    "int('9' * 5000)",
    "'x'.center(10**10)",
    "'x'.zfill(10**10)",
    "'a\\tb'.expandtabs(10**10)",
    "('ab' * 50_000).replace('a', 'x' * 1000)",
    "'-'.join(['x' * 10**5] * 10**5)",
    "str(['x' * 10**5] * 10**5)",
    "repr(['x' * 10**5] * 10**5)",
    "f'{[\"x\" * 10**5] * 10**5}'",
    "sorted(['x' * 10**5] * 10**5)",
    "['x' * 10**5] * 10**5 == ['x' * 10**5] * 10**5",
    "max(['x' * 10**5] * 10**5)",
    "round(5, -10**9)",
    "random.choices([1], k=10**9)",
    "list(range(10**9))",
    "[0] * 10**5 * 10**5",
]

HUGE_CELLS = [
    "s = 'x'\nwhile True:\n    s = s + s",
    "s = 'x'\nwhile True:\n    s += s",
    "l = [0]\nwhile True:\n    l.extend(l)",
    "l = [0]\nwhile True:\n    l += l",
    "l = [[0]]\nwhile True:\n    l[0] += l[0]",
    "s = 'ab'\nwhile True:\n    s = s.replace('a', s)",
    "s = 'ab'\nwhile True:\n    s = f'{s}{s}'",
    "l = []\nwhile True:\n    l.append('x' * 10**5)",
    "d = {}\nfor i in range(10**5):\n    d[i] = 'y' * 10**5",
    "x = []\nfor i in range(10**5):\n    x = [x]\nprint(x)",
    "x = []\nx.append(x)\nprint(x * 1000)",
]


@pytest.mark.parametrize("code", HUGE_VALUES)
def test_huge_values_fail_fast(code: str) -> None:
    with pytest.raises(SandboxError):
        evaluate_expression(code, {})


@pytest.mark.parametrize("code", HUGE_CELLS)
async def test_growing_values_fail_fast(run_code: RunCell, code: str) -> None:
    with pytest.raises(SandboxError):
        await run_code(code)


async def test_huge_values_do_not_grow_the_process(run_code: RunCell) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    for code in HUGE_VALUES:
        with pytest.raises(SandboxError):
            evaluate_expression(code, {})
    for code in HUGE_CELLS:
        with pytest.raises(SandboxError):
            await run_code(code)
    assert process.memory_info().rss - before < 300 * 2**20


async def test_endless_cell_is_stopped_while_other_tasks_tick(
    run_code: RunCell, ticker: Ticker
) -> None:
    started = time.perf_counter()
    # Whichever comes first: the time slice or the step budget.
    with pytest.raises(SandboxError, match="exceeded"):
        await run_code("await asyncio.sleep(0.05)\nwhile True:\n    pass")
    stopped = time.perf_counter()
    assert ticker.ticks_since(started) > 0  # the loop ran during the cell's sleep
    await eventually(lambda: ticker.ticks_since(stopped) > 0)  # ... and after it was stopped


async def test_endless_door_is_stopped_and_the_loop_goes_on(ticker: Ticker) -> None:
    with pytest.raises(SandboxError, match="exceeded"):
        evaluate_expression("[x for x in range(10**5) for y in range(10**5)]", {})
    stopped = time.perf_counter()
    await eventually(lambda: ticker.ticks_since(stopped) > 0)


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except Exception:\n        pass",
        "def f():\n    return f()\nf()",
        "def f(n):\n    for i in range(10**5):\n        f(n)\nf(0)",
        "g = (i for i in range(10**5) for j in range(10**5))\nfor x in g:\n    pass",
        "while True:\n    x = sorted([3, 1, 2], key=lambda v: -v)",
    ],
)
async def test_runaway_variants_are_stopped(run_code: RunCell, code: str) -> None:
    with pytest.raises(SandboxError):
        await run_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "def f():\n    try:\n        while True:\n            pass\n"
        "    finally:\n        return 1\nf()",
        "yield Dialog(title='first')\ndef f():\n    try:\n        while True:\n"
        "            pass\n    finally:\n        return 1\nf()",
    ],
)
async def test_a_swallowed_breach_still_fails_the_run(
    run_code: RunCell, finally_escapes_allowed: None, code: str
) -> None:
    """``finally: return`` is refused when saved; the run-time check holds without that."""
    with pytest.raises(SandboxError):
        await run_code(code)


def test_statements_are_stopped_too() -> None:
    with pytest.raises(SandboxError, match="time slice exceeded"):
        execute_statements("while True:\n    pass", {}, budget=Budget(max_slice_seconds=0.05))


def test_the_step_budget_counts_loop_iterations() -> None:
    budget = Budget(max_steps=1000)
    execute_statements("for i in range(900):\n    pass", {}, budget=budget)
    with pytest.raises(SandboxError, match="step budget exceeded"):
        execute_statements("for i in range(2000):\n    pass", {}, budget=budget)


async def test_time_spent_waiting_does_not_count(run_code: RunCell) -> None:
    budget = Budget(max_slice_seconds=0.05)
    outcome = await run_code(
        "for i in range(4):\n    await asyncio.sleep(0.03)\n    vars['i'] = i", budget=budget
    )
    assert outcome.variables == {"i": 3}


async def test_time_spent_outside_the_cell_does_not_count(run_code: RunCell) -> None:
    """The engine may hold a yielded dialog for long; the cell's slice starts anew after."""
    from gencaster.engine.sandbox import CellContext, run_cell

    async def never(name: str, seconds: float) -> str | None:
        return None

    context = CellContext({}, never, print, Budget(max_slice_seconds=0.05))
    code = "yield Dialog(title='a')\nyield Dialog(title='b')"
    titles = []
    async for dialog in run_cell(code, context):
        titles.append(dialog.title)
        # Blocks on purpose: stands in for slow work of the engine between dialogs.
        time.sleep(0.1)  # noqa: ASYNC251
    assert titles == ["a", "b"]


async def test_sleeps_and_waits_are_clamped(run_code: RunCell) -> None:
    budget = Budget(max_sleep_seconds=0.05)
    async with asyncio.timeout(30):  # unclamped, the sleep alone would take 100 s
        outcome = await run_code(
            "await asyncio.sleep(100)\nawait wait_for_stream_variable('x', timeout=10**9)",
            budget=budget,
        )
    assert outcome.waits == [("x", 0.05)]


async def test_print_output_is_bounded(run_code: RunCell) -> None:
    outcome = await run_code("for i in range(10):\n    print(i)", budget=Budget(max_print_lines=3))
    assert outcome.log == ["0", "1", "2", "print output truncated: too many lines"]


def test_total_built_size_is_bounded() -> None:
    budget = Budget(max_total_size=1000)
    execute_statements("x = 'a' * 900", {}, budget=budget)
    with pytest.raises(SandboxError, match="built too much data"):
        execute_statements("for i in range(3):\n    x = 'a' * 400", {}, budget=budget)


def test_budget_rejects_non_positive_limits() -> None:
    with pytest.raises(ValueError):
        Budget(max_steps=0)
