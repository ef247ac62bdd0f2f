"""Authors' code is parsed and compiled one thread at a time (fresh code: compiles are cached).

Python 3.11's AST conversion keeps its recursion counter per interpreter, so two
threads parsing at once can fail with "AST constructor recursion depth mismatch";
cells, doors and markdown are checked and run on worker threads.
"""

from __future__ import annotations

import threading
import uuid

from gencaster.authoring.variables import code_facts
from gencaster.engine.sandbox import check_expression, compile_code
from gencaster.engine.sandbox._checker import AST_LOCK


def _blocked_while_the_lock_is_held(work) -> None:  # type: ignore[no-untyped-def]
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    with AST_LOCK:
        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(0.2), "parsed while another thread held the lock"
    thread.join(30)
    assert done.is_set()


def test_checking_a_door_waits_for_the_lock():
    _blocked_while_the_lock_is_held(lambda: check_expression(f"vars['x'] == '{uuid.uuid4()}'"))


def test_compiling_a_cell_waits_for_the_lock():
    _blocked_while_the_lock_is_held(lambda: compile_code(f"y = '{uuid.uuid4()}'", "cell"))


def test_the_linter_reading_variables_waits_for_the_lock():
    _blocked_while_the_lock_is_held(lambda: code_facts("vars['a'] = 1", "exec"))
