"""Running compiled code: door expressions, markdown statements and script cells."""

from __future__ import annotations

import asyncio
import builtins
import inspect
import random as _random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from gencaster.engine.frontend import (
    Button,
    ButtonType,
    CallbackAction,
    Checkbox,
    Dialog,
    Input,
    Text,
)

from ._budget import Budget, Meter
from ._compile import CELL_FUNCTION, FILENAMES, Mode, compile_code
from ._errors import SandboxError, Violation, describe_failure
from ._guards import Guards
from ._namespaces import (
    DATETIME,
    MAX_KEY_CHARS,
    TIME,
    Printer,
    VarsProxy,
    asyncio_namespace,
    random_namespace,
    visits_function,
)

_BUILTIN_NAMES = """int float str bool len range list dict tuple set min max abs round sum sorted
    enumerate zip reversed any all isinstance chr ord repr
    Exception ValueError TypeError KeyError IndexError ZeroDivisionError"""
_SHARED_NAMES: dict[str, object] = {
    **{kind.__name__: kind for kind in (Dialog, Text, Button, Checkbox, Input)},
    "ButtonType": ButtonType,
    "CallbackAction": CallbackAction,
    "time": TIME,
    "datetime": DATETIME,
    "timedelta": timedelta,
    **{name: getattr(builtins, name) for name in _BUILTIN_NAMES.split()},
}


@dataclass
class CellContext:
    """What a cell may reach beyond its own code; the engine fills it for one stream."""

    variables: dict[str, Any]
    wait_for_stream_variable: Callable[[str, float], Awaitable[str | None]]
    log: Callable[[str], None]
    budget: Budget = field(default_factory=Budget)
    # The stream's one generator (seeded for a repeatable walk) and its visit counts.
    rng: _random.Random = field(default_factory=_random.Random)
    visits: Callable[[str], int] | None = None


REST_AFTER_SECONDS = 0.005


class DialogAllowance:
    """How many dialogs a cell may still show, and how fast (a token bucket)."""

    def __init__(self, budget: Budget) -> None:
        self._left = budget.max_dialogs
        self._rate = budget.dialogs_per_second
        self._burst = float(budget.dialog_burst)
        self._tokens = self._burst
        self._updated = time.monotonic()

    async def take(self) -> None:
        """Wait until one more dialog may be shown; refuse once the run has shown its share."""
        self._left -= 1
        if self._left < 0:
            raise SandboxError("this cell has shown too many dialogs")
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self._rate)


class _Run:
    """One execution: its meter, guards and the names its code sees."""

    def __init__(
        self,
        mode: Mode,
        budget: Budget,
        log: Callable[[str], None] | None,
        *,
        rng: _random.Random | None = None,
        visits: Callable[[str], int] | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.filename = FILENAMES[mode]
        self.rng = rng if rng is not None else _random.Random()
        self.visits = visits
        self.meter = meter if meter is not None else Meter(budget)
        self.meter.start_slice()
        self.guards = Guards(self.meter)
        self.printer = Printer(log, budget, self.guards.text)
        self.dialogs = DialogAllowance(budget)
        self.cancelled = False

    def namespace(
        self, variables: dict[str, Any], cell: CellContext | None = None
    ) -> dict[str, Any]:
        budget = self.meter.budget
        names: dict[str, object] = {
            **_SHARED_NAMES,
            "vars": VarsProxy(variables, budget),
            "random": random_namespace(budget, self.rng),
            "visits": visits_function(self.visits),
            "print": self.printer,
        }
        if cell is not None:
            names["asyncio"] = asyncio_namespace(budget, self.suspend)
            names["wait_for_stream_variable"] = self._waiter(cell)
        return {"__builtins__": names, **self.guards.helpers()}

    def _waiter(self, cell: CellContext) -> Callable[..., Awaitable[str | None]]:
        limit = self.meter.budget.max_sleep_seconds

        # The parameter is named as cells call it: wait_for_stream_variable("x", timeout=10).
        async def wait_for_stream_variable(name: str, timeout: float = 60.0) -> str | None:
            if not isinstance(name, str) or not 0 < len(name) <= MAX_KEY_CHARS:
                raise TypeError(
                    f"the variable name must be text of 1 to {MAX_KEY_CHARS} characters"
                )
            if not isinstance(timeout, int | float):
                raise TypeError("timeout must be a number of seconds")
            timeout = min(max(float(timeout), 0.0), limit)
            return await self.suspend(cell.wait_for_stream_variable(name, timeout))

        return wait_for_stream_variable

    async def suspend(self, awaitable: Awaitable[Any]) -> Any:
        """Time spent waiting does not count: a new slice starts when the code resumes.

        Once the stream's task is being cancelled, every further wait raises the
        cancellation again, so a cell that swallowed it cannot keep its stream alive.
        """
        if self.is_cancelled():
            _discard(awaitable)
            raise asyncio.CancelledError()
        busy = self.meter.slice_seconds()
        try:
            result = await awaitable
            await self.rest(busy)
            return result
        except asyncio.CancelledError:
            self.cancelled = True
            self.meter.stop("the stream has ended")  # loops that swallow it end at once
            raise
        finally:
            self.meter.start_slice()

    async def rest(self, busy: float) -> None:
        """After a long slice, wait as long before going on: one cell gets at most about
        half of the event loop, however it alternates computing and waiting."""
        if busy > REST_AFTER_SECONDS:
            await asyncio.sleep(busy)

    def is_cancelled(self) -> bool:
        """True once the task running this code was asked to stop (and stays true)."""
        if not self.cancelled:
            task = asyncio.current_task()
            self.cancelled = task is not None and task.cancelling() > 0
            if self.cancelled:
                self.meter.stop("the stream has ended")
        return self.cancelled

    def error(self, exc: BaseException) -> BaseException:
        """The one-line ``SandboxError`` for a failure (a cancellation stays one)."""
        if self.cancelled:
            return asyncio.CancelledError()
        return SandboxError(describe_failure(exc, self.filename))


def evaluate_expression(
    code: str,
    variables: dict[str, Any],
    *,
    budget: Budget | None = None,
    log: Callable[[str], None] | None = None,
    rng: _random.Random | None = None,
    visits: Callable[[str], int] | None = None,
    meter: Meter | None = None,
) -> object:
    """Evaluate a door condition or ``python`` token; blocks for at most one time slice.

    Runs that share a ``meter`` (the tokens of one markdown cell) share its step budget.
    """
    compiled = compile_code(code, "expression")
    run = _Run("expression", budget or Budget(), log, rng=rng, visits=visits, meter=meter)
    namespace = run.namespace(variables)
    try:
        result = eval(compiled, namespace)
        run.meter.check_breach()
    except (Exception, Violation) as exc:
        raise run.error(exc) from exc
    return result


def execute_statements(
    code: str,
    variables: dict[str, Any],
    *,
    budget: Budget | None = None,
    log: Callable[[str], None] | None = None,
    rng: _random.Random | None = None,
    visits: Callable[[str], int] | None = None,
    meter: Meter | None = None,
) -> None:
    """Run statements (a ``python_exec`` token) that may change ``variables``; no awaiting."""
    compiled = compile_code(code, "statements")
    run = _Run("statements", budget or Budget(), log, rng=rng, visits=visits, meter=meter)
    namespace = run.namespace(variables)
    try:
        exec(compiled, namespace)
        run.meter.check_breach()
    except (Exception, Violation) as exc:
        raise run.error(exc) from exc


async def run_cell(code: str, context: CellContext) -> AsyncGenerator[Dialog, None]:
    """Run a script cell, yielding each ``Dialog`` it yields; raise ``SandboxError`` on failure.

    Close it with ``contextlib.aclosing`` so the cell's own cleanup runs in the caller's task.
    """
    compiled = compile_code(code, "cell")
    run = _Run("cell", context.budget, context.log, rng=context.rng, visits=context.visits)
    namespace = run.namespace(context.variables, cell=context)
    exec(compiled, namespace)  # only defines the cell function; none of its code runs yet
    body = namespace[CELL_FUNCTION]()
    run.meter.start_slice()
    if not inspect.isasyncgen(body):
        await _step(run, body)
        return
    try:
        run.meter.start_slice()
        while (item := await _step(run, anext(body))) is not _FINISHED:
            if item is None:  # a bare ``yield`` sends nothing and starts no new slice
                continue
            busy = run.meter.slice_seconds()
            await run.dialogs.take()
            yield item
            await run.rest(busy)
            run.meter.start_slice()
    finally:
        await _close(run, body)


_FINISHED: Any = object()


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will never be awaited (no 'never awaited' warning)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


async def _step(run: _Run, step: Awaitable[Any]) -> Any:
    """Resume the cell until its next ``yield`` or its end."""
    try:
        item = await step
    except StopAsyncIteration:
        item = _FINISHED
    except (Exception, Violation) as exc:
        raise run.error(exc) from exc
    if run.is_cancelled():  # the cell swallowed its cancellation (saved before it was refused)
        raise asyncio.CancelledError()
    if run.meter.breach is not None:  # swallowed by the cell, e.g. with ``finally: return``
        raise run.error(Violation(run.meter.breach))
    if item is None or item is _FINISHED:
        return item
    if not isinstance(item, Dialog):
        raise SandboxError(f"a cell may only yield Dialog objects, not {type(item).__name__}")
    return _checked(item)


def _checked(dialog: Dialog) -> Dialog:
    """Build the dialog anew: the cell may have changed its lists after building it."""
    try:
        content = [replace(item) for item in dialog.content]
        buttons = [replace(button) for button in dialog.buttons]
        return Dialog(dialog.title, content, buttons)
    except (TypeError, ValueError) as exc:
        raise SandboxError(f"invalid dialog: {exc}") from exc


async def _close(run: _Run, body: AsyncGenerator[Any, Any]) -> None:
    """Run the cell's ``finally`` blocks; a failure there is no longer anyone's business."""
    run.meter.start_slice()
    with suppress(Exception, Violation):
        await body.aclose()
