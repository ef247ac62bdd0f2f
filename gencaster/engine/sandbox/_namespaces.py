"""The objects sandboxed code reaches by name: ``vars``, ``random``, ``time``, ``datetime``,
``asyncio`` and ``print``.

Each namespace is a fixed table of plain functions written here, never a module: a module
or a ``random.Random`` would hand out its internals (``random.Random``, seed state).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random as _random
import time as _time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from ._budget import Budget
from ._errors import Violation, one_line

MAX_KEY_CHARS = 255
MAX_VARIABLES = 1000
MAX_RANDOM_ITEMS = 10_000
_MAX_STRFTIME_CHARS = 200
_MAX_PRINT_CHARS = 4000
_VALUE_TYPES = (str, int, float, bool)


class Namespace:
    """A read-only table of members; the attribute guard reads it through ``member``."""

    __slots__ = ("_label", "_members")

    def __init__(self, label: str, members: Mapping[str, object]) -> None:
        self._label = label
        self._members = dict(members)

    @property
    def label(self) -> str:
        return self._label

    @property
    def member_names(self) -> frozenset[str]:
        return frozenset(self._members)

    def member(self, name: str) -> object:
        return self._members[name]

    def __repr__(self) -> str:
        return f"<{self._label}: {', '.join(sorted(self._members))}>"


class VarsProxy(MutableMapping[str, Any]):
    """``vars`` in sandboxed code: writes through to the engine's plain dict, checking
    that keys are short text and values are str/int/float/bool of bounded size."""

    __slots__ = ("_budget", "_data")

    def __init__(self, data: dict[str, Any], budget: Budget) -> None:
        self._data = data
        self._budget = budget

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            raise Violation(f"vars keys must be text of 1 to {MAX_KEY_CHARS} characters")
        if type(value) not in _VALUE_TYPES:
            raise Violation(
                f"vars values must be str, int, float or bool, not {type(value).__name__}"
            )
        if isinstance(value, str) and len(value) > self._budget.max_size:
            raise Violation(f"vars value too large ({len(value)} > {self._budget.max_size})")
        if type(value) is int and value.bit_length() > self._budget.max_int_bits:
            raise Violation("vars value too large")
        if key not in self._data and len(self._data) >= MAX_VARIABLES:
            raise Violation(f"too many vars (at most {MAX_VARIABLES})")
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


class Printer:
    """``print`` in sandboxed code: one log line per call, a bounded number of lines."""

    def __init__(
        self, log: Callable[[str], None] | None, budget: Budget, text: Callable[[Any], str]
    ) -> None:
        self._log = log
        self._lines_left = budget.max_print_lines
        self._text = text

    def __call__(self, *values: Any, sep: Any = " ") -> None:
        if not isinstance(sep, str) or len(sep) > 100:
            raise TypeError("print() sep must be a short str")
        line = sep.join(self._text(value) for value in values)
        if self._log is None:
            return
        self._lines_left -= 1
        if self._lines_left >= 0:
            self._log(one_line(line, _MAX_PRINT_CHARS))
        elif self._lines_left == -1:
            self._log("print output truncated: too many lines")


def random_namespace(budget: Budget, rng: _random.Random) -> Namespace:
    """``random`` in sandboxed code draws from ``rng``: the engine's one generator per stream,
    so a seeded walk is repeatable."""
    _rng = rng

    # These loop in Python code the step counter does not reach: keep each call short.
    def choices(population: Sequence[Any], weights: Any = None, *, k: int = 1) -> list[Any]:
        if not isinstance(k, int) or k > MAX_RANDOM_ITEMS:
            raise Violation(f"too many items for random.choices (k up to {MAX_RANDOM_ITEMS})")
        if weights is not None and len(population) > MAX_RANDOM_ITEMS:
            raise Violation(f"too many weights for random.choices (up to {MAX_RANDOM_ITEMS})")
        return _rng.choices(population, weights, k=k)

    def sample(population: Sequence[Any], k: int) -> list[Any]:
        if not isinstance(k, int) or k > MAX_RANDOM_ITEMS:
            raise Violation(f"too many items for random.sample (k up to {MAX_RANDOM_ITEMS})")
        return _rng.sample(population, k)

    def shuffle(items: list[Any]) -> None:
        if not isinstance(items, list):
            raise TypeError("random.shuffle takes a list")
        if len(items) > MAX_RANDOM_ITEMS:
            raise Violation(f"too many items for random.shuffle (up to {MAX_RANDOM_ITEMS})")
        _rng.shuffle(items)

    members: dict[str, object] = {
        "random": lambda: _rng.random(),
        "randint": lambda a, b: _rng.randint(a, b),
        "randrange": lambda *args: _rng.randrange(*args),
        "uniform": lambda a, b: _rng.uniform(a, b),
        "gauss": lambda mu=0.0, sigma=1.0: _rng.gauss(mu, sigma),
        "choice": lambda seq: _rng.choice(seq),
        "choices": choices,
        "sample": sample,
        "shuffle": shuffle,
    }
    return Namespace("random", members)


def _strftime(template: str) -> str:
    if not isinstance(template, str) or len(template) > _MAX_STRFTIME_CHARS:
        raise Violation(f"strftime format must be text up to {_MAX_STRFTIME_CHARS} characters")
    return _time.strftime(template)


# ``time.sleep`` is left out on purpose: it would block every stream of the process.
TIME = Namespace(
    "time",
    {"time": lambda: _time.time(), "monotonic": lambda: _time.monotonic(), "strftime": _strftime},
)

DATETIME = Namespace(
    "datetime",
    {
        "datetime": dt.datetime,
        "date": dt.date,
        "timedelta": dt.timedelta,
        "timezone": dt.timezone,
        "now": lambda tz=None: dt.datetime.now(tz),
        "today": lambda: dt.date.today(),
    },
)


def asyncio_namespace(
    budget: Budget, suspend: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> Namespace:
    """Only ``sleep``, clamped, and accounted as a pause of the time slice."""

    async def sleep(seconds: float) -> None:
        if not isinstance(seconds, int | float):
            raise TypeError("asyncio.sleep takes a number of seconds")
        await suspend(asyncio.sleep(min(max(float(seconds), 0.0), budget.max_sleep_seconds)))

    return Namespace("asyncio", {"sleep": sleep})


def visits_function(count: Callable[[str], int] | None) -> Callable[[str], int]:
    """``visits("Node name")``: how often the stream entered that node (0 when unknown)."""

    def visits(name: str) -> int:
        if not isinstance(name, str) or len(name) > MAX_KEY_CHARS:
            raise TypeError(f"visits() takes a node name of up to {MAX_KEY_CHARS} characters")
        return 0 if count is None else int(count(name))

    return visits
