"""Estimates how big a value is, without building its text.

``str([s] * n)`` is tiny to build but huge to print, and sorting or comparing lists of
long strings costs far more than their length suggests. So before formatting, sorting or
comparing, the guards weigh the value, counting shared objects once per reference and
stopping as soon as the limit is passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from itertools import repeat

from ._errors import Violation

# Dict views compare and hash what they show (``d.items() == e.items()`` hashes pairs).
_CONTAINERS: tuple[type, ...] = (
    list,
    tuple,
    set,
    frozenset,
    type({}.keys()),
    type({}.values()),
    type({}.items()),
)
_FLAT_KINDS = (list, tuple, set, frozenset)
_OPAQUE_WEIGHT = 40  # floats, dates, enums, None: their text is short
_OPAQUE_COST = 2  # ... and comparing or hashing them is cheap
_FLAT_FROM = 64
_INTS = frozenset({int, bool})
_STRS = frozenset({str})
_TICK_EVERY = 1024
MAX_DEPTH = 1000


def weigh(value: object, limit: int, tick: Callable[[], bool], *, as_text: bool) -> int:
    """Return the weight of ``value`` (about its ``repr`` length); raise past ``limit``."""
    if type(value) is str:
        total = len(value)
        if total > limit:
            raise Violation(f"value too large to use here ({total} > {limit})")
        return total
    total = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    visited = 0
    while pending:
        item, depth = pending.pop()
        visited += 1
        if visited % _TICK_EVERY == 0:
            tick()
        flat = _flat_weight(item, as_text, limit)
        total += _own_weight(item, as_text) if flat is None else flat
        if total > limit:
            raise Violation(f"value too large to use here (over {limit})")
        if flat is None and (children := _children(item)):
            if depth >= MAX_DEPTH:
                # Hashing a nested tuple recurses in C code with no depth check (a crash).
                raise Violation(f"value nested too deeply (over {MAX_DEPTH} levels)")
            pending.extend(zip(children, repeat(depth + 1)))
    return total


def _flat_weight(item: object, as_text: bool, limit: int) -> int | None:
    """The weight of a list/tuple/set of plain ints or plain strs, summed in C code;
    ``None`` for anything else (its items are then weighed one by one)."""
    kind = type(item)
    if kind not in _FLAT_KINDS or len(item) < _FLAT_FROM:  # type: ignore[arg-type]
        return None
    assert isinstance(item, list | tuple | set | frozenset)
    kinds = set(map(type, item))
    if kinds <= _INTS:
        return 2 + 4 * len(item) + sum(map(int.bit_length, item)) // 3
    if kinds == _STRS:
        chars = sum(map(len, item))
        if not as_text:
            return 2 + 3 * len(item) + chars
        least = 2 + 4 * len(item) + 2 * chars
        if least > limit:  # too heavy already: spare looking at every character
            return least
        factor = 2 if all(map(str.isprintable, item)) else 10
        return 2 + 4 * len(item) + factor * chars
    return None


def _own_weight(item: object, as_text: bool) -> int:
    kind = type(item)
    if kind is str:
        assert isinstance(item, str)
        if not as_text:
            return len(item) + 1
        # Nested strings print as repr: quotes, escapes up to \U0001xxxx.
        return 2 * len(item) + 2 if item.isprintable() else 10 * len(item) + 2
    if kind is bytes:
        assert isinstance(item, bytes)
        return 4 * len(item) + 3
    if kind is int:
        assert isinstance(item, int)
        return item.bit_length() // 3 + 2
    if kind in _CONTAINERS or isinstance(item, Mapping):
        return 2 + 2 * len(item)  # type: ignore[arg-type]
    return _OPAQUE_WEIGHT if as_text else _OPAQUE_COST


def _children(item: object) -> list[object]:
    kind = type(item)
    if kind in _CONTAINERS:
        return list(item)  # type: ignore[call-overload]
    if kind is dict:
        assert isinstance(item, dict)
        return [*item.keys(), *item.values()]
    if isinstance(item, Mapping):
        return [*item.keys(), *item.values()]
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return [getattr(item, field.name) for field in dataclasses.fields(item)]
    return []
