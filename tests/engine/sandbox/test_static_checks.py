"""check_expression / check_cell reject code before it runs, pointing at the offending spot."""

from __future__ import annotations

import pytest

from gencaster.engine.sandbox import InvalidPythonCode, check_cell, check_expression
from gencaster.engine.sandbox._policy import CELL_NAMES, COMMON_NAMES


def rejection(check: object, code: str) -> InvalidPythonCode:
    with pytest.raises(InvalidPythonCode) as info:
        check(code)  # type: ignore[operator]
    assert info.value.error_code == code
    return info.value


def test_error_message_is_line_caret_message() -> None:
    error = rejection(check_expression, "vars.get('a') == __x")
    assert error.error_type == "ForbiddenName"
    assert error.error_message.split("\n") == [
        "vars.get('a') == __x",
        " " * 17 + "^",
        "names starting with '_' are not allowed: '__x'",
    ]


def test_caret_points_at_the_attribute_on_the_right_line() -> None:
    code = 'x = 1\nif x:\n    y = "é" + vars.__class__\n'
    error = rejection(check_cell, code)
    line, caret, message = error.error_message.split("\n")
    assert error.error_type == "ForbiddenAttribute"
    assert line == '    y = "é" + vars.__class__'
    assert caret == " " * line.index("__class__") + "^"
    assert message == "attribute '__class__' is not allowed"


def test_caret_keeps_tabs_so_it_lines_up() -> None:
    error = rejection(check_cell, "if True:\n\tx = open('f')")
    assert error.error_message.split("\n")[:2] == ["\tx = open('f')", "\t    ^"]


def test_syntax_errors_use_the_same_format() -> None:
    error = rejection(check_expression, "vars.get('a') ==")
    assert error.error_type == "SyntaxError"
    line, caret, message = error.error_message.split("\n")
    assert line == "vars.get('a') =="
    assert caret.strip() == "^" and len(caret) - 1 == len(line)
    assert message == "invalid syntax"


def test_a_door_is_a_single_expression() -> None:
    assert rejection(check_expression, "x = 1").error_type == "SyntaxError"
    assert rejection(check_expression, "await asyncio.sleep(1)").error_type == "ForbiddenName"


@pytest.mark.parametrize(
    "code",
    [
        "True",
        'vars.get("answer") == "yes"',
        'int(vars["n"]) > 3 and "x" in vars',
        "random.random() < 0.5",
        "datetime.now().hour >= 18",
        "len([c for c in vars.get('name', '') if c.isupper()]) > 1",
        "f'{vars.get(\"n\", 0):>5}' != ''",
    ],
)
def test_good_door_expressions_pass(code: str) -> None:
    check_expression(code)


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("import os", "ForbiddenSyntax"),
        ("from os import *", "ForbiddenSyntax"),
        ("global x", "ForbiddenSyntax"),
        ("def f():\n    nonlocal x", "ForbiddenSyntax"),
        ("class A:\n    pass", "ForbiddenSyntax"),
        ("with x:\n    pass", "ForbiddenSyntax"),
        ("match vars:\n    case _:\n        pass", "ForbiddenSyntax"),
        ("try:\n    pass\nexcept:\n    pass", "ForbiddenSyntax"),
        ("return 5", "ForbiddenSyntax"),
        ("vars.x = 1", "ForbiddenSyntax"),
        ("del vars.x", "ForbiddenSyntax"),
        ("yield from []", "ForbiddenSyntax"),
        ("def f():\n    await asyncio.sleep(1)", "SyntaxError"),
        ("@print\ndef f():\n    pass", "ForbiddenSyntax"),
        ("x: int = 1", "ForbiddenSyntax"),
        ("_x = 1", "ForbiddenName"),
        ("def f(_a):\n    pass", "ForbiddenName"),
        ("print(_sep=1)", "ForbiddenName"),
        ("os.system('ls')", "ForbiddenName"),
        ("x = 'a' +", "SyntaxError"),
        ("if True:\nx = 1", "IndentationError"),
    ],
)
def test_bad_cells_are_rejected(code: str, error_type: str) -> None:
    assert rejection(check_cell, code).error_type == error_type


def test_cells_may_await_and_yield_at_top_level() -> None:
    check_cell(
        'color = await wait_for_stream_variable("color", timeout=10)\n'
        "await asyncio.sleep(0.1)\n"
        'yield Dialog(title="Hi", content=[Text(color or "none")], buttons=[Button.ok()])\n'
        "def helper(x):\n    return x * 2\n"
        "return\n"
    )


def test_only_cells_may_wait() -> None:
    assert {"asyncio", "wait_for_stream_variable"} == CELL_NAMES - COMMON_NAMES
    rejection(check_expression, 'wait_for_stream_variable("x")')


def test_overlong_and_overnested_code_is_rejected() -> None:
    assert rejection(check_cell, "x = 1\n" * 10_000).error_type == "CodeTooLong"
    with pytest.raises(InvalidPythonCode):
        check_expression("(" * 500 + "1" + ")" * 500)
    with pytest.raises(InvalidPythonCode):
        check_expression("-" * 50_000 + "1")


def test_non_text_code_is_rejected() -> None:
    with pytest.raises(InvalidPythonCode):
        check_expression(None)  # type: ignore[arg-type]
