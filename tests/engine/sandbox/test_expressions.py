"""Door conditions and markdown statements over the stream's variables."""

from __future__ import annotations

import pytest

from gencaster.engine.sandbox import SandboxError, evaluate_expression, execute_statements


@pytest.mark.parametrize(
    ("code", "variables", "expected"),
    [
        ("True", {}, True),
        ('vars.get("answer") == "yes"', {"answer": "yes"}, True),
        ('vars.get("answer") == "yes"', {}, False),
        ('int(vars["n"]) > 3', {"n": "5"}, True),
        ('int(vars["n"]) > 3', {"n": "2"}, False),
        ('"name" in vars and len(vars["name"]) > 2', {"name": "Ada"}, True),
        ("vars.get('a', '').lower() in ['y', 'yes']", {"a": "YES"}, True),
        ("[k for k in sorted(vars)]", {"b": "1", "a": "2"}, ["a", "b"]),
        ("float(vars['x']) * 2", {"x": "1.5"}, 3.0),
        ("1 < int(vars['n']) <= 5", {"n": "5"}, True),
    ],
)
def test_door_expressions(code: str, variables: dict[str, str], expected: object) -> None:
    assert evaluate_expression(code, variables) == expected


def test_a_non_boolean_result_is_returned_as_is() -> None:
    """The engine takes a door only when the result ``is True``."""
    assert evaluate_expression("vars.get('n')", {"n": "1"}) == "1"


def test_a_missing_variable_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match=r"KeyError: 'n' \(line 1\)"):
        evaluate_expression('int(vars["n"]) > 3', {})


def test_statements_change_the_variables_and_may_print() -> None:
    variables = {"count": "1"}
    lines: list[str] = []
    execute_statements(
        "vars['count'] = str(int(vars['count']) + 1)\nprint('now', vars['count'])",
        variables,
        log=lines.append,
    )
    assert variables == {"count": "2"}
    assert lines == ["now 2"]


def test_print_without_a_log_goes_nowhere() -> None:
    execute_statements("print('quiet')", {})


def test_statements_may_not_wait_or_yield() -> None:
    from gencaster.engine.sandbox import InvalidPythonCode

    with pytest.raises(InvalidPythonCode):
        execute_statements("yield 1", {})
    with pytest.raises(InvalidPythonCode):
        execute_statements("await asyncio.sleep(1)", {})


def test_the_same_code_sees_each_runs_own_variables() -> None:
    code = "vars.get('who', 'nobody')"
    assert evaluate_expression(code, {"who": "a"}) == "a"
    assert evaluate_expression(code, {"who": "b"}) == "b"
    assert evaluate_expression(code, {}) == "nobody"
