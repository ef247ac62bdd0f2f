"""Work done inside C code is weighed and counted before it runs, and no value grows past
the size limits however it is built.

The budget here allows a minute per time slice, so only those checks can stop the code:
before them, each example ran for seconds to hours inside one C call.
"""

from __future__ import annotations

import contextlib

import pytest

from gencaster.engine.engine import SandboxRunner
from gencaster.engine.markdown import render_ssml
from gencaster.engine.sandbox import (
    Budget,
    CellContext,
    SandboxError,
    evaluate_expression,
    execute_statements,
    run_cell,
)

from .conftest import CellOutcome, RunCell, Ticker

PATIENT = Budget(max_slice_seconds=60.0, max_steps=10**9)
BIG = "t = (0,) * 100000\nu = (0,) * 100000\n"
REFUSED = "too large|too many|too much|too deeply"

# Each hashes, compares or copies far more than its length suggests.
HEAVY = {
    "set item": "x = {(t,) * 10000}",
    "set item, one more level": "v = (t,) * 10000\nx = {(v,) * 10000}",
    "dict key": "x = {(t,) * 10000: 1}",
    "dict key by subscript": "d = {}\nd[(t,) * 10000] = 1",
    "dict key lookup": "x = {}.get((t,) * 10000)",
    "set comprehension": "x = {(t,) * 10000 for i in range(2)}",
    "dict comprehension": "x = {(t,) * 10000: i for i in range(2)}",
    "set()": "x = set([(t,) * 10000])",
    "dict()": "x = dict([((t,) * 10000, 1)])",
    "set.add": "s = set()\ns.add((t,) * 10000)",
    "in a set": "x = (t,) * 10000 in set()",
    "tuple.count": "x = ((t,) * 10000).count(u)",
    "tuple.index": "x = ((t,) * 10000).index(u)",
    "list.count": "x = [t] * 10000\nx.count(u)",
    "list.remove": "x = [t] * 10000\nx.remove(u)",
    "in a tuple": "x = u in (t,) * 10000",
    "equality": "x = (t,) * 10000 == (u,) * 10000",
    "ordering": "x = [(t,)] * 1000 < [(u,)] * 1000",
    "sorted": "x = sorted([(t,)] * 1000)",
    "max": "x = max([(t,) * 10] * 1000)",
    "startswith": "x = 'abc'.startswith(('x' * 100000,) * 100000)",
    "isinstance": "x = isinstance(1, ((str,) * 100000,) * 100000)",
    "zip": "x = list(zip(*[list(range(1000))] * 1000))",
    "dict views": "x = {1: (t,) * 10000}.items() == {1: (u,) * 10000}.items()",
    "dict view operators": "x = {1: 1}.keys() | [(t,) * 10000]",
    "deeply nested key": "k = ()\nfor i in range(300000):\n    k = (k,)\nx = {k}",
    "in dict values": "d = {i: t for i in range(10000)}\nx = u in d.values()",
    "colliding keys": "x = set([i * (2**61 - 1) for i in range(3000)])",
    "colliding keys, copied": "s = set()\nfor i in range(2000):\n    s.add(i * (2**61 - 1))\n"
    "x = set(s)",
    "colliding dict keys": "d = {i * (2**61 - 1): 0 for i in range(2000)}\nx = {**d}",
    "random.shuffle": "x = list(range(10**5))\nrandom.shuffle(x)",
    "random.sample": "x = random.sample(range(10**5), 10**5)",
}
CHUNK = "range(i * 10**5, (i + 1) * 10**5)"
# Each built a value far over the size limit (100,000 items) inside C code.
GROWING = {
    "set.update": "s = set()\ns.update(*[range(i * 10**5, (i + 1) * 10**5) for i in range(100)])",
    "set.update in a loop": f"s = set()\nfor i in range(100):\n    s.update({CHUNK})",
    "set |=": "s = set()\nfor i in range(100):\n    s |= set(range(i * 10**5, (i + 1) * 10**5))",
    "set.union": "x = set().union(*[range(i * 10**5, (i + 1) * 10**5) for i in range(100)])",
    "dict.update": f"d = {{}}\nfor i in range(100):\n    d.update(zip({CHUNK}, t))",
    "dict |": "d = dict(zip(range(10**5), t))\nx = d | dict(zip(range(10**5, 2 * 10**5), t))",
    "dict spread": "d = dict(zip(range(10**5), t))\nx = {**d, **{-k: 0 for k in d}}",
    "list spread": "x = [*t, *t, *t, *t, *t, *t, *t, *t, *t, *t]",
    "tuple spread": "x = (*t, *t)",
    "set spread": "x = {*range(10**5), *range(10**5, 2 * 10**5)}",
    "call spread": "x = print(*t, *t)",
    "slice assignment": "x = [0]\nwhile True:\n    x[0:0] = x",
    "list.append": "x = []\nwhile True:\n    x.append(0)",
    "list.insert": "x = list(range(10**5 - 10))\nwhile True:\n    x.insert(0, 0)",
    "+= an iterable": "x = []\nwhile True:\n    x += range(10**5)",
    "slices of a long text": "s = 'x' * 10**5\nx = [s[1:] for i in range(10**5)]",
    "list()": "x = list(range(10**5)) + list(range(10**5))",
    "dict keys": "d = {}\nfor i in range(10**6):\n    d[i] = i",
    "set.add": "s = set()\nfor i in range(10**6):\n    s.add(i)",
    "setdefault": "d = {}\nfor i in range(10**6):\n    d.setdefault(i, 0)",
    "text from str methods": "s = 'x' * 10**5\nx = [s.upper() for i in range(1000)]",
    "vars": "vars.update({str(i): i for i in range(2000)})",
}


@pytest.mark.parametrize("code", HEAVY.values(), ids=HEAVY.keys())
def test_heavy_c_level_work_is_refused_before_it_runs(code: str) -> None:
    with pytest.raises(SandboxError, match=REFUSED):
        execute_statements(BIG + code, {}, budget=PATIENT)


@pytest.mark.parametrize("code", GROWING.values(), ids=GROWING.keys())
def test_no_value_grows_past_the_size_limit(code: str) -> None:
    with pytest.raises(SandboxError, match=REFUSED):
        execute_statements(BIG + code, {}, budget=PATIENT)


def test_a_door_expression_is_weighed_like_a_cell() -> None:
    with pytest.raises(SandboxError, match=REFUSED):
        evaluate_expression("len({(((0,) * 100000,) * 10000,)}) > 0", {}, budget=PATIENT)


def test_a_markdown_token_is_weighed_like_a_cell() -> None:
    markdown = "Hello {python_exec}`x = {((0,) * 100000,) * 10000}` there"
    result = render_ssml(markdown, runner=SandboxRunner(budget=PATIENT))
    assert "Hello" in result.ssml
    assert any("too large" in warning for warning in result.warnings), result.warnings


def test_the_tokens_of_one_markdown_cell_share_one_step_budget() -> None:
    token = "{python_exec}`for i in range(600):\n    pass`"
    runner = SandboxRunner(budget=Budget(max_steps=1000, max_slice_seconds=60.0))
    result = render_ssml(f"{token} {token} {token}", runner=runner)
    failures = [warning for warning in result.warnings if "step budget exceeded" in warning]
    assert len(failures) == 2, result.warnings


async def test_the_work_of_c_code_is_charged_to_the_step_budget(run_code: RunCell) -> None:
    budget = Budget(max_steps=50_000, max_slice_seconds=60.0)
    await run_code("x = sorted(range(1000))", budget=budget)
    with pytest.raises(SandboxError, match="step budget exceeded"):
        await run_code("for i in range(100):\n    x = sorted(range(10**5))", budget=budget)


async def test_useful_code_still_runs(run_code: RunCell) -> None:
    code = """\
names = ["b", "a", "c"] * 1000
unique = set([str(i % 10) for i in range(10**4)]) | set([i % 10 for i in range(10**4)])
vars["unique"] = len(unique)
seen = set(names)
counts = {name: names.count(name) for name in seen}
pairs = {(name, n) for name, n in counts.items()}
order = sorted(seen)
merged = {**counts, "d": 1}
more = [*order, *order]
more[0:2] = ["x"]
more += ("y", "z")
vars["summary"] = f"{order} {counts['a']} {len(pairs)} {len(merged)} {more[:3]} {'a' in seen}"
"""
    outcome = await run_code(code, budget=PATIENT)
    assert outcome.variables["unique"] == 20
    assert outcome.variables["summary"] == "['a', 'b', 'c'] 1000 3 4 ['x', 'c', 'a'] True"


async def test_bare_yields_do_not_start_new_time_slices(run_code: RunCell) -> None:
    budget = Budget(max_steps=10**9, max_slice_seconds=0.05)
    with pytest.raises(SandboxError, match="time slice exceeded"):
        await run_code("while True:\n    yield", budget=budget)


async def test_a_cell_shows_a_bounded_number_of_dialogs(run_code: RunCell) -> None:
    budget = Budget(max_dialogs=5, dialogs_per_second=1000.0)
    outcome = CellOutcome()
    with pytest.raises(SandboxError, match="too many dialogs"):
        await run_code(
            "for i in range(500):\n    yield Dialog(title=str(i))", budget=budget, outcome=outcome
        )
    assert [dialog.title for dialog in outcome.dialogs] == ["0", "1", "2", "3", "4"]


async def test_dialogs_past_a_burst_wait_for_their_turn(ticker: Ticker) -> None:
    """Dialogs past the burst wait for their turn, and the event loop runs meanwhile."""
    budget = Budget(dialog_burst=3, dialogs_per_second=50.0)
    context = CellContext({}, _never, print, budget)
    turns = []
    code = "for i in range(6):\n    yield Dialog(title=str(i))"
    async with contextlib.aclosing(run_cell(code, context)) as dialogs:
        async for _ in dialogs:
            turns.append(len(ticker.stamps))
    assert len(turns) == 6
    assert turns[2] < turns[3] < turns[4] < turns[5]  # the loop ran while each one waited


async def _never(name: str, seconds: float) -> str | None:
    return None
