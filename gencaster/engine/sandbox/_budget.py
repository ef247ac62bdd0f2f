"""How much one run may do, and the per-run meter that enforces it."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from gencaster.metrics import SANDBOX_STOPS

from ._errors import Violation


@dataclass(frozen=True)
class Budget:
    """Limits of one run (a door expression, a statement, or a whole cell).

    max_steps          loop iterations, comprehension steps and calls, for the whole run;
                       work done inside C code (sorting, hashing, comparing, copying) is
                       charged too, one step per ``ELEMENTS_PER_STEP`` elements it touches
    max_slice_seconds  wall-clock time the code may run without awaiting or yielding; the
                       event loop is blocked for at most about this long at a time, and a
                       cell that used its slice waits as long before it runs again
    max_size           longest str/list/tuple/dict/set (chars or items) or range() a run
                       may build; values formatted, sorted or compared may weigh 10x this
    max_total_size     sum of the sizes of all values built by guarded operations in one run
    max_int_bits       largest int a run may build (4096 bits is about 1233 digits)
    max_sleep_seconds  longest ``asyncio.sleep`` or ``wait_for_stream_variable`` timeout
    max_print_lines    ``print`` calls that reach the log; later ones are dropped
    max_dialogs        dialogs one cell run may show
    dialogs_per_second how fast a cell may show dialogs after a first burst of
                       ``dialog_burst``; faster cells wait
    """

    max_steps: int = 1_000_000
    max_slice_seconds: float = 0.05
    max_size: int = 100_000
    max_total_size: int = 10_000_000
    max_int_bits: int = 4096
    max_sleep_seconds: float = 3600.0
    max_print_lines: int = 200
    max_dialogs: int = 500
    dialogs_per_second: float = 2.0
    dialog_burst: int = 20

    def __post_init__(self) -> None:
        for item in fields(self):
            if not getattr(self, item.name) > 0:
                raise ValueError(f"Budget.{item.name} must be positive")

    @property
    def max_weight(self) -> int:
        """How heavy a value may be to format, sort or compare (see ``Meter.weigh``)."""
        return 10 * self.max_size


ELEMENTS_PER_STEP = 16  # C code touches elements ~16 times faster than a Python loop steps


class Meter:
    """Counts one run's steps, time slices and built sizes; a breach stays a breach."""

    __slots__ = ("_deadline", "allocated", "breach", "budget", "steps")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.steps = 0
        self.allocated = 0
        self.breach: str | None = None
        self._deadline = time.perf_counter() + budget.max_slice_seconds

    def start_slice(self) -> None:
        """Called whenever the code resumes after an await or a yield."""
        self._deadline = time.perf_counter() + self.budget.max_slice_seconds

    def tick(self) -> bool:
        """One step; returns True so generated code can use it inside expressions."""
        self.steps += 1
        if self.breach is not None:
            raise Violation(self.breach)
        if self.steps > self.budget.max_steps:
            self.fail(f"step budget exceeded ({self.budget.max_steps} steps)")
        if time.perf_counter() > self._deadline:
            self.fail(f"time slice exceeded ({self.budget.max_slice_seconds} s without awaiting)")
        return True

    def work(self, elements: int) -> None:
        """Charge C-level work on ``elements`` items before it runs."""
        self.steps += elements // ELEMENTS_PER_STEP
        self.tick()

    def work_sorting(self, count: int) -> None:
        """Charge sorting ``count`` items (about n log n comparisons)."""
        self.work(count * max(count.bit_length(), 1))

    def slice_seconds(self) -> float:
        """How long the code has run since it last resumed."""
        return time.perf_counter() - (self._deadline - self.budget.max_slice_seconds)

    def fail(self, message: str) -> None:
        """Record a breach: later ticks raise again, so catching it does not help."""
        if self.breach is None:
            SANDBOX_STOPS.inc()
        self.breach = message
        raise Violation(message)

    def stop(self, message: str) -> None:
        """From now on every step fails (e.g. the stream ended), without raising here."""
        if self.breach is None:
            self.breach = message

    def check_breach(self) -> None:
        """A run that swallowed a breach (``finally: return``) still fails at its end."""
        if self.breach is not None:
            raise Violation(self.breach)

    def check_size(self, size: int, what: str = "value") -> None:
        if size > self.budget.max_size:
            SANDBOX_STOPS.inc()
            raise Violation(f"{what} too large ({size} > {self.budget.max_size})")

    def charge(self, size: int) -> None:
        """Count a newly built value against the run's total."""
        self.allocated += size
        if self.allocated > self.budget.max_total_size:
            self.fail(f"built too much data in one run (over {self.budget.max_total_size})")
