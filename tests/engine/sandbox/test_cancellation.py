"""A cell cannot keep running once its stream's task is cancelled."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gencaster.engine.sandbox import CellContext, InvalidPythonCode, check_cell, run_cell

from .conftest import CellOutcome

SWALLOWING = [
    "while True:\n    try:\n        await asyncio.sleep(1)\n    finally:\n        continue",
    "for i in range(9):\n    try:\n        await asyncio.sleep(1)\n    finally:\n        break",
    "try:\n    await asyncio.sleep(1)\nfinally:\n    return",
    "async def wait():\n    try:\n        await asyncio.sleep(1)\n    finally:\n        return 1\n"
    "await wait()",
    "while True:\n    try:\n        pass\n    finally:\n        if True:\n            continue",
    "while True:\n    try:\n        pass\n    finally:\n        for i in range(2):\n"
    "            pass\n        else:\n            break",
]
ALLOWED = [
    "try:\n    pass\nfinally:\n    for i in range(3):\n        if i:\n            break",
    "while True:\n    try:\n        break\n    finally:\n        pass",
    "try:\n    pass\nfinally:\n    def f():\n        return 1\n    print(f())",
    "try:\n    await asyncio.sleep(0)\nfinally:\n    vars['done'] = True",
]


@pytest.mark.parametrize("code", SWALLOWING)
def test_leaving_a_finally_block_early_is_refused_when_saved(code: str) -> None:
    with pytest.raises(InvalidPythonCode, match="inside 'finally' is not allowed"):
        check_cell(code)


@pytest.mark.parametrize("code", ALLOWED)
def test_finally_blocks_that_end_normally_are_allowed(code: str) -> None:
    check_cell(code)


async def cancel_while_running(code: str) -> CellOutcome:
    """Run ``code`` in a task of its own, cancelled as soon as the first dialog arrives."""
    outcome = CellOutcome()

    async def wait_for_stream_variable(name: str, seconds: float) -> str | None:
        outcome.waits.append((name, seconds))
        return None

    async def listen() -> None:
        context = CellContext(outcome.variables, wait_for_stream_variable, outcome.log.append)
        async with contextlib.aclosing(run_cell(code, context)) as dialogs:
            async for dialog in dialogs:
                outcome.dialogs.append(dialog)
                task.cancel()  # the listener left: the next wait ends the stream's task

    task = asyncio.create_task(listen())
    with pytest.raises(asyncio.CancelledError):
        await task
    return outcome


@pytest.mark.parametrize(
    "code",
    [
        "yield Dialog(title='a')\nwhile True:\n    try:\n        await asyncio.sleep(0.01)\n"
        "    finally:\n        continue",
        "yield Dialog(title='a')\nfor i in range(3):\n    try:\n        await asyncio.sleep(0.01)\n"
        "    finally:\n        continue\nawait wait_for_stream_variable('x', 1)",
        "yield Dialog(title='a')\ntry:\n    await asyncio.sleep(10)\nfinally:\n    return",
        "yield Dialog(title='a')\ntry:\n    await asyncio.sleep(10)\nfinally:\n"
        "    yield Dialog(title='b')\nvars['after'] = True",
    ],
    ids=["continue-forever", "continue-then-go-on", "return", "yield"],
)
async def test_a_cell_that_swallows_its_cancellation_is_cancelled_anyway(
    finally_escapes_allowed: None, code: str
) -> None:
    outcome = await cancel_while_running(code)
    assert "after" not in outcome.variables and outcome.waits == []
    assert [dialog.title for dialog in outcome.dialogs] == ["a"]


async def test_waiting_after_the_cancellation_ends_at_once() -> None:
    code = (
        "yield Dialog(title='a')\ntry:\n    await asyncio.sleep(3600)\nfinally:\n"
        "    vars['cleanup'] = 'started'\n    await wait_for_stream_variable('x', 3600)\n"
        "    vars['cleanup'] = 'finished'"
    )
    outcome = await cancel_while_running(code)
    # The cancellation lands in the sleep (the cleanup starts) or just before it.
    assert outcome.variables.get("cleanup", "started") == "started"
    assert outcome.waits == []
