"""Every way out of the sandbox we could think of fails: statically or with SandboxError.

How fast each attempt is refused is measured by ``bench.sandbox_limits``, not here.
"""

from __future__ import annotations

import pytest

from gencaster.engine.sandbox import (
    InvalidPythonCode,
    SandboxError,
    check_cell,
    check_expression,
    evaluate_expression,
)

from .conftest import RunCell

CELL_ESCAPES = [
    "import os",
    "from os import path",
    "import builtins as b",
    "__import__('os')",
    "().__class__.__bases__[0].__subclasses__()",
    "__builtins__",
    "x = __builtins__['open']",
    "getattr(1, '__class__')",
    "setattr(vars, 'x', 1)",
    "'{0.__class__}'.format(1)",
    "'{0.__class__}'.format_map({})",
    "str.format('{0.__class__}', 1)",
    "f'{1:{\"{0.__class__}\"}}'",
    "spec = '{0.__class__}'\nf'{1:{spec}}'",
    "f'{1:>{10**9}}'",
    'f\'{"x":{"<"}{2**20}}\'',
    "f'{1.5:.{10**6}f}'",
    "f'{vars!r:{\"\"}}'.format(1)",
    "open('/etc/passwd')",
    "(x for x in []).gi_frame.f_globals",
    "g = (x for x in [])\ng.gi_frame",
    "g = (x for x in [])\ng.gi_code",
    "g = (x for x in [])\ng.send(None)",
    "async def c():\n    pass\nco = c()\nco.cr_frame",
    "async def a():\n    yield 1\na().ag_frame",
    "try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
    "try:\n    1/0\nexcept Exception as e:\n    e.with_traceback(None)",
    "def f():\n    pass\nf.func_globals",
    "def f():\n    pass\nf.__globals__",
    "f = lambda: 0\nf.__code__",
    "x = print\nx.f_back",
    "x = print\nx.log",
    "print.__self__",
    "vars.get.__self__",
    "vars.__class__",
    "vars._data",
    "type(1)",
    "type('X', (), {})",
    "vars()",
    "vars(1)",
    "random._inst",
    "random.Random()",
    "random.seed(1)",
    "random.getstate()",
    "random.random.__self__",
    "time.sleep(100)",
    "time.localtime().tm_year.__class__",
    "datetime.datetime.__subclasses__()",
    "datetime.datetime.mro()",
    "datetime.sys",
    "datetime.now().tzinfo.__class__",
    "Dialog.__init__.__globals__",
    "Button.ok.__func__",
    "Dialog.ok",
    "ButtonType.PRIMARY.__class__",
    "ButtonType.mro()",
    "str.maketrans('a', 'b')",
    "int.from_bytes(b'1', 'big')",
    "dict.fromkeys(range(10))",
    "'a'.encode()",
    "asyncio.get_event_loop()",
    "asyncio.sleep.__code__",
    "asyncio.create_task(asyncio.sleep(1))",
    "wait_for_stream_variable.cr_frame",
    "eval('1')",
    "exec('1')",
    "compile('1', '', 'eval')",
    "globals()",
    "locals()",
    "super()",
    "object",
    "memoryview(b'')",
    "bytearray(10)",
    "help()",
    "input()",
    "breakpoint()",
    "exit()",
    "iter(int, 1)",
    "next(iter([]))",
    "hasattr(vars, 'x')",
    "isinstance(1, int).real.__class__",
    "global x\nx = 1",
    "class A:\n    pass",
    "with open('x') as f:\n    pass",
    "try:\n    pass\nexcept:\n    pass",
    "[].append.__self__",
    "l = []\nl.append.__name__",
    "try:\n    [][1]\nexcept IndexError as err:\n    err.args.__class__",
    "match 1:\n    case int(real=r):\n        pass",
    "x = (y := vars)\nx.__dict__",
    "vars['__class__'].__init__",
    "'%s' % 1",
]

EXPRESSION_ESCAPES = [
    "__import__('os').system('true')",
    "[x for x in iter(int, 1)]",
    "max(range(10**12))",
    "sum(range(10**12))",
    "list(range(10**9))",
    "(lambda: 0).__code__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "getattr(vars, 'get')",
    "vars.f_globals",
    "vars.gi_frame",
    "sorted([1, 2], key=str)",
    "sorted([1, 2], key=print)",
]


async def assert_escape_fails(run_code: RunCell, code: str) -> None:
    try:
        check_cell(code)
    except InvalidPythonCode:
        return
    with pytest.raises(SandboxError):
        await run_code(code)


@pytest.mark.parametrize("code", CELL_ESCAPES)
async def test_escape_attempt_fails_in_a_cell(run_code: RunCell, code: str) -> None:
    await assert_escape_fails(run_code, code)


@pytest.mark.parametrize("code", EXPRESSION_ESCAPES)
def test_escape_attempt_fails_in_a_door(code: str) -> None:
    try:
        check_expression(code)
    except InvalidPythonCode:
        return
    with pytest.raises(SandboxError):
        evaluate_expression(code, {})


def test_reaching_for_time_sleep_is_refused_before_the_call() -> None:
    # The attribute itself is refused, so the call never starts and nothing blocks.
    with pytest.raises(SandboxError, match="attribute 'sleep' of 'time' is not allowed"):
        evaluate_expression("time.sleep(100)", {})


def test_the_static_deny_list_covers_frame_attributes() -> None:
    for attribute in ("gi_frame", "gi_code", "f_back", "f_globals", "f_locals", "f_builtins"):
        with pytest.raises(InvalidPythonCode):
            check_expression(f"vars.{attribute}")
    for attribute in ("cr_frame", "ag_frame", "tb_frame", "tb_next", "func_globals", "mro"):
        with pytest.raises(InvalidPythonCode):
            check_expression(f"vars.{attribute}")


async def test_a_rejected_cell_run_raises_invalid_python_code(run_code: RunCell) -> None:
    with pytest.raises(InvalidPythonCode):
        await run_code("import os")
