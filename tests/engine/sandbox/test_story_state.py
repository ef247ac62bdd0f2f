"""``random`` draws from the stream's one generator; ``visits`` reads the stream's counts."""

from __future__ import annotations

import random

import pytest

from gencaster.engine.sandbox import (
    CellContext,
    SandboxError,
    evaluate_expression,
    execute_statements,
    run_cell,
)

DRAWS = "[random.randint(0, 10**6), random.choice('abcdefgh'), random.random()]"


def test_the_same_seed_draws_the_same_numbers_in_doors_and_tokens():
    first = evaluate_expression(DRAWS, {}, rng=random.Random(7))
    again = evaluate_expression(DRAWS, {}, rng=random.Random(7))
    other = evaluate_expression(DRAWS, {}, rng=random.Random(8))
    assert first == again
    assert first != other


def test_one_generator_is_shared_by_every_evaluation_of_a_walk():
    rng = random.Random(3)
    values: dict[str, object] = {}
    execute_statements("vars['a'] = random.randint(0, 10**9)", values, rng=rng)
    execute_statements("vars['b'] = random.randint(0, 10**9)", values, rng=rng)
    expected = random.Random(3)
    assert [values["a"], values["b"]] == [expected.randint(0, 10**9) for _ in range(2)]


async def test_cells_draw_from_the_context_generator():
    async def run(seed: int) -> dict[str, object]:
        values: dict[str, object] = {}
        context = CellContext(
            variables=values,
            wait_for_stream_variable=_never,
            log=lambda line: None,
            rng=random.Random(seed),
        )
        async for _ in run_cell("vars['pick'] = random.choice(['x', 'y', 'z', 'w'] * 9)", context):
            pass
        return values

    assert await run(11) == await run(11)
    picks = {str((await run(seed))["pick"]) for seed in range(20)}
    assert len(picks) > 1


def test_visits_counts_by_node_name_and_unknown_names_count_zero():
    counts = {"Intro": 2}

    def count(name: str) -> int:
        return counts.get(name, 0)

    assert evaluate_expression("visits('Intro') >= 2", {}, visits=count) is True
    assert evaluate_expression("visits('Nowhere')", {}, visits=count) == 0
    assert evaluate_expression("visits('Intro')", {}) == 0  # no stream: nothing visited


def test_visits_refuses_what_is_not_a_node_name():
    with pytest.raises(SandboxError, match="visits"):
        evaluate_expression("visits(3)", {}, visits=lambda name: 1)


async def _never(name: str, timeout: float) -> str | None:
    return None
