"""Script cells: dialogs out, variables in, prints to the log, failures as SandboxError."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gencaster.engine.frontend import ButtonType, CallbackAction, Dialog, Input, Text
from gencaster.engine.sandbox import Budget, CellContext, SandboxError, run_cell
from gencaster.engine.sandbox._policy import CELL_NAMES

from .conftest import CellOutcome, RunCell

ASK_FOR_A_COLOR = """
print("asking for a color, n =", vars["n"])
yield Dialog(
    title="Your color?",
    content=[Text("Pick one"), Input(key="color", label="Color")],
    buttons=[Button.ok(), Button("No", value="no", key="color", button_type=ButtonType.DANGER)],
)
color = await wait_for_stream_variable("color", timeout=10)
vars["color"] = color or "none"
vars["n"] = int(vars["n"]) + 1
vars["ratio"] = 0.5
vars["asked"] = True
print(f"got {color!r}")
"""


async def test_a_cell_yields_a_dialog_waits_and_sets_variables(run_code: RunCell) -> None:
    outcome = await run_code(ASK_FOR_A_COLOR, {"n": "3"}, answers={"color": "blue"})
    [dialog] = outcome.dialogs
    assert dialog.title == "Your color?"
    assert dialog.content == [Text("Pick one"), Input(key="color", label="Color")]
    ok, no = dialog.buttons
    assert ok.callback_actions == [CallbackAction.SEND_VARIABLES]
    assert (no.text, no.button_type) == ("No", ButtonType.DANGER)
    assert outcome.waits == [("color", 10.0)]
    assert outcome.variables == {"n": 4, "color": "blue", "ratio": 0.5, "asked": True}
    assert type(outcome.variables) is dict
    assert outcome.log == ["asking for a color, n = 3", "got 'blue'"]


async def test_a_wait_that_times_out_gives_none(run_code: RunCell) -> None:
    outcome = await run_code(ASK_FOR_A_COLOR, {"n": "0"}, answers={})
    assert outcome.variables["color"] == "none"


async def test_a_cell_without_yield_runs_as_a_coroutine(run_code: RunCell) -> None:
    outcome = await run_code("await asyncio.sleep(0)\nvars['done'] = 'yes'")
    assert outcome.variables == {"done": "yes"}
    assert outcome.dialogs == []


async def test_plain_python_works(run_code: RunCell) -> None:
    code = """
def shout(word):
    return word.upper() + "!"

words = sorted(["b", "a", "c"], key=lambda w: -ord(w))
counts = {}
for word in words:
    counts[word] = counts.get(word, 0) + 1
counts["a"] += 10
pairs = [(i, w) for i, w in enumerate(words) if w != "c"]
later = datetime.now() + timedelta(days=1)
vars["result"] = ",".join(shout(w) for w in words)
vars["counts"] = str(counts)
vars["pairs"] = repr(pairs)
vars["later"] = later > datetime.now()
vars["pick"] = random.choice(words) in words
vars["total"] = sum(x * 2 for x in range(5)) + abs(-1) + round(2.6) + min(3, 4) + max([1, 9])
vars["text"] = f"{3.14159:.2f}|{'x':>3}|{len(words):03d}"
try:
    int("nope")
except ValueError as error:
    vars["error"] = error.args[0][:20]
"""
    outcome = await run_code(code)
    assert outcome.variables == {
        "result": "C!,B!,A!",
        "counts": "{'c': 1, 'b': 1, 'a': 11}",
        "pairs": "[(1, 'b'), (2, 'a')]",
        "later": True,
        "pick": True,
        "total": 20 + 1 + 3 + 3 + 9,
        "text": "3.14|  x|003",
        "error": "invalid literal for ",
    }


async def test_every_allowed_name_can_be_used(run_code: RunCell) -> None:
    code = "\n".join(f"x = {name}" for name in sorted(CELL_NAMES))
    await run_code(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\ny = 1 / 0", "ZeroDivisionError: division by zero (line 2)"),
        ("vars['missing']", "KeyError: 'missing' (line 1)"),
        ("raise ValueError('bad\\nthing')", "ValueError: bad thing (line 1)"),
        ("yield 'not a dialog'", "a cell may only yield Dialog objects, not str"),
        ("vars['x'] = [1, 2]", "vars values must be str, int, float or bool, not list (line 1)"),
        ("vars[1] = 'a'", "vars keys must be text of 1 to 255 characters (line 1)"),
        ("Dialog(title=5)", "TypeError: title must be a str, not int (line 1)"),
        ("await wait_for_stream_variable(5)", "TypeError: the variable name must be text"),
    ],
)
async def test_failures_are_one_line_sandbox_errors(
    run_code: RunCell, code: str, message: str
) -> None:
    with pytest.raises(SandboxError) as info:
        await run_code(code)
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message


async def test_oversized_variable_values_are_refused(run_code: RunCell) -> None:
    with pytest.raises(SandboxError, match="vars value too large"):
        await run_code(
            "vars['x'] = await wait_for_stream_variable('big')",
            budget=Budget(max_size=40),
            answers={"big": "a" * 50},
        )


async def test_variables_set_before_a_failure_are_kept(run_code: RunCell) -> None:
    outcome = CellOutcome()
    with pytest.raises(SandboxError):
        await run_code("vars['before'] = 'yes'\n1 / 0", {}, outcome=outcome)
    assert outcome.variables == {"before": "yes"}


async def test_closing_early_runs_the_cells_cleanup() -> None:
    variables: dict[str, object] = {}

    async def never(name: str, seconds: float) -> str | None:
        return None

    code = "try:\n    yield Dialog(title='a')\n    yield Dialog(title='b')\nfinally:\n"
    code += "    vars['closed'] = 'yes'"
    context = CellContext(variables, never, print)
    async with contextlib.aclosing(run_cell(code, context)) as dialogs:
        async for dialog in dialogs:
            assert dialog.title == "a"
            break
    assert variables == {"closed": "yes"}


async def test_cancelling_a_waiting_cell_cancels_not_fails() -> None:
    waiting = asyncio.Event()

    async def forever(name: str, seconds: float) -> str | None:
        waiting.set()
        await asyncio.sleep(3600)
        return None

    code = "try:\n    await wait_for_stream_variable('x', timeout=60)\nfinally:\n"
    code += "    while True:\n        pass"
    context = CellContext({}, forever, print)

    async def consume() -> None:
        async for _ in run_cell(code, context):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(waiting.wait(), timeout=2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)


async def test_two_cells_do_not_share_state(run_code: RunCell) -> None:
    first = await run_code("x = 1\nvars['x'] = x")
    second = await run_code("vars['seen'] = 'x' in vars")
    assert first.variables == {"x": 1}
    assert second.variables == {"seen": False}


async def test_a_bare_yield_sends_nothing(run_code: RunCell) -> None:
    outcome = await run_code("yield\nyield Dialog(title='t')")
    assert [dialog.title for dialog in outcome.dialogs] == ["t"]
    assert isinstance(outcome.dialogs[0], Dialog)


@pytest.mark.parametrize(
    "change",
    [
        "dialog.content.append(print)",
        "dialog.content.append(42)",
        "dialog.buttons.append(Text('not a button'))",
        "dialog.buttons[0].callback_actions.append('SELF_DESTRUCT')",
        "dialog.content.extend([Text('t')] * 60)",
    ],
)
async def test_a_dialog_changed_after_building_is_checked_again(
    run_code: RunCell, change: str
) -> None:
    code = f"dialog = Dialog(title='t', buttons=[Button.ok()])\n{change}\nyield dialog"
    with pytest.raises(SandboxError, match="invalid dialog"):
        await run_code(code)
