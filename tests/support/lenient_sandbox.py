"""``gencaster`` with the sandbox's refusal of ``finally: continue/break/return`` lifted.

Stands in for cells saved before that refusal existed, or for a construct the static
check does not know: tests use it to show the run-time defences hold on their own.
"""

from __future__ import annotations

import pytest

from gencaster.engine.sandbox._checker import Checker
from gencaster.engine.sandbox._compile import compile_code


def lift_finally_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Checker, "visit_Try", Checker.generic_visit, raising=False)
    compile_code.cache_clear()


if __name__ == "__main__":
    from gencaster.cli import main

    Checker.visit_Try = Checker.generic_visit  # type: ignore[method-assign]
    raise SystemExit(main())
