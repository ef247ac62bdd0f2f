"""Size checks for builtins and methods whose cost their arguments decide.

``"x".ljust(10**10)`` or ``sorted(key=str)`` would allocate or loop inside C code where no
step counter reaches, so these check their arguments first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import TYPE_CHECKING, Any

from ._errors import Violation
from ._namespaces import VarsProxy

if TYPE_CHECKING:
    from ._guards import Guards

_MAX_STRFTIME_CHARS = 200
_MAX_ROUND_DIGITS = 1000
_MAX_ISINSTANCE_TYPES = 20
_MAX_ZIPPED = 32
_SAFE_KEYS = (len, abs, ord)


def check_key(key: object) -> None:
    """Sort keys run inside C code: only sandbox functions (ticked, guarded) or safe ones."""
    if key is not None and not isinstance(key, FunctionType) and key not in _SAFE_KEYS:
        raise Violation("key must be a function defined in the code, len, abs or ord")


def _new(guards: Guards, value: Any) -> Any:
    guards.check_value(value)
    guards.meter.charge(len(value))
    return value


def builtin_guards(guards: Guards) -> dict[object, Callable[..., Any]]:
    """Replacements for builtins, keyed by the builtin the code calls."""

    def guarded_range(*args: Any) -> range:
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = guards.budget.max_size + 1
        guards.meter.check_size(length, "range")
        return result

    def guarded_str(*args: Any, **kwargs: Any) -> str:
        if len(args) == 1 and not kwargs:
            return guards.text(args[0])
        return str(*args, **kwargs)

    def guarded_sorted(
        iterable: Iterable[Any], /, *, key: Any = None, reverse: bool = False
    ) -> Any:
        check_key(key)
        items = guards.bounded(iterable)
        guards.operand(items)
        guards.meter.work_sorting(len(items))
        items.sort(key=key, reverse=reverse)
        guards.meter.charge(len(items))
        return items

    def extreme(function: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_key(kwargs.get("key"))
            items = guards.bounded(args[0]) if len(args) == 1 else list(args)
            guards.operand(items)
            return function(items, **kwargs)

        return guarded

    def guarded_isinstance(value: Any, kinds: Any, /) -> bool:
        if isinstance(kinds, tuple) and (
            len(kinds) > _MAX_ISINSTANCE_TYPES or not all(isinstance(k, type) for k in kinds)
        ):
            raise Violation(
                f"too many classes for isinstance() (a class or up to {_MAX_ISINSTANCE_TYPES})"
            )
        return isinstance(value, kinds)

    def guarded_zip(*iterables: Any, strict: bool = False) -> Any:
        if len(iterables) > _MAX_ZIPPED:
            raise Violation(f"too many iterables for zip() (up to {_MAX_ZIPPED})")
        return zip(*iterables, strict=strict)

    def sequence(kind: type[list[Any]] | type[tuple[Any, ...]]) -> Callable[..., Any]:
        def build(iterable: Iterable[Any] = (), /) -> Any:
            items = guards.bounded(iterable)
            guards.meter.charge(len(items))
            return items if kind is list else tuple(items)

        return build

    def guarded_set(iterable: Iterable[Any] = (), /) -> set[Any]:
        items = guards.bounded(iterable)
        if isinstance(iterable, set | frozenset):
            guards.spread(items)
        else:
            guards.hashed_all(items)
        guards.meter.charge(len(items))
        return set(items)

    def guarded_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
        return _dict_update(guards, {}, *args, **kwargs)

    def guarded_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
        if not isinstance(start, int | float):
            raise TypeError("sum() only adds numbers")
        return sum(iterable, start)

    def guarded_round(number: Any, ndigits: Any = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > _MAX_ROUND_DIGITS:
            raise ValueError(f"round() takes at most {_MAX_ROUND_DIGITS} digits")
        return round(number, ndigits)

    return {
        range: guarded_range,
        str: guarded_str,
        repr: lambda value: guards.text(value, repr),
        sorted: guarded_sorted,
        min: extreme(min),
        max: extreme(max),
        sum: guarded_sum,
        round: guarded_round,
        list: sequence(list),
        tuple: sequence(tuple),
        set: guarded_set,
        dict: guarded_dict,
        isinstance: guarded_isinstance,
        zip: guarded_zip,
    }


def method_wrapper(guards: Guards, obj: Any, name: str) -> Callable[..., Any] | None:
    """A checked stand-in for ``obj.name``, or None when the plain method is safe."""
    kind = type(obj)
    if kind is str:
        return _str_wrapper(guards, obj, name)
    if kind is list or kind is tuple:
        return _sequence_wrapper(guards, obj, name)
    if kind is dict:
        return _dict_wrapper(guards, obj, name)
    if kind is set or kind is frozenset:
        return _set_wrapper(guards, obj, name)
    if kind is VarsProxy and name in ("get", "pop", "setdefault"):
        return _keyed(guards, getattr(obj, name))
    if kind in (dt.datetime, dt.date, dt.time) and name == "strftime":
        return _strftime(obj)
    return None


def _keyed(guards: Guards, method: Callable[..., Any]) -> Callable[..., Any]:
    """A method whose first argument is hashed (``d.get(key)``, ``s.add(item)``)."""

    def call(key: Any, /, *args: Any) -> Any:
        return method(guards.hashed(key), *args)

    return call


def _compared(guards: Guards, items: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    """``items.count(x)``/``index``/``remove`` compare ``x`` with every item, in C code."""

    def call(value: Any, /, *args: Any) -> Any:
        guards.operand(items)
        guards.operand(value)
        return method(value, *args)

    return call


def _sequence_wrapper(guards: Guards, items: Any, name: str) -> Callable[..., Any] | None:
    if name in ("count", "index", "remove"):
        return _compared(guards, items, getattr(items, name))
    if name == "extend":
        return _list_extend(guards, items)
    if name == "sort":
        return _list_sort(guards, items)
    if name in ("append", "insert"):
        method = getattr(items, name)

        def grow(*args: Any) -> None:
            guards.grown(items, 1)
            method(*args)

        return grow
    if name == "copy":
        return lambda: _new(guards, items.copy())
    return None


def _dict_update(guards: Guards, target: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
    """``dict(...)`` and ``d.update(...)``: new keys are counted and hashed before."""
    if len(args) > 1:
        raise TypeError(f"expected at most 1 argument, got {len(args)}")
    pairs: list[Any] = []
    if args and isinstance(args[0], Mapping):
        keys = guards.bounded(args[0].keys())
        pairs = [(key, args[0][key]) for key in keys]
        guards.hashed_all(keys)
    elif args:
        pairs = guards.bounded(args[0])
        for pair in pairs:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise TypeError("dict() takes pairs of key and value")
        guards.hashed_all([pair[0] for pair in pairs])
    guards.grown(target, len(pairs) + len(kwargs))
    target.update(pairs, **kwargs)
    return target


def _dict_wrapper(guards: Guards, data: dict[Any, Any], name: str) -> Callable[..., Any] | None:
    if name in ("get", "pop"):
        return _keyed(guards, getattr(data, name))
    if name == "setdefault":

        def setdefault(key: Any, default: Any = None, /) -> Any:
            if guards.hashed(key) not in data:
                guards.grown(data, 1)
            return data.setdefault(key, default)

        return setdefault
    if name == "update":
        return lambda *args, **kwargs: _dict_update(guards, data, *args, **kwargs) and None
    if name == "copy":
        return lambda: _new(guards, data.copy())
    return None


_SET_GROWING = frozenset({"update", "union", "symmetric_difference", "symmetric_difference_update"})
_SET_TAKING_ITERABLES = _SET_GROWING | frozenset(
    {"intersection", "intersection_update", "difference", "difference_update", "issubset",
     "issuperset", "isdisjoint"}
)  # fmt: skip


def _set_wrapper(guards: Guards, items: Any, name: str) -> Callable[..., Any] | None:
    method = getattr(items, name)
    if name in ("remove", "discard"):
        return _keyed(guards, method)
    if name == "add":

        def add(item: Any, /) -> None:
            if guards.hashed(item) not in items:
                guards.grown(items, 1)
            method(item)

        return add
    if name == "copy":

        def copy() -> Any:
            guards.spread(items)
            return _new(guards, items.copy())

        return copy
    if name not in _SET_TAKING_ITERABLES:
        return None

    def call(*others: Any) -> Any:
        ready: list[Any] = []
        room = guards.budget.max_size - (len(items) if name in _SET_GROWING else 0)
        for other in others:
            if isinstance(other, set | frozenset):
                guards.spread(other)  # hashes are stored, but the keys are inserted again
                ready.append(other)
            else:
                ready.append(guards.bounded(other, room if name in _SET_GROWING else None))
                guards.hashed_all(ready[-1])
            if name in _SET_GROWING:
                room -= len(ready[-1])
                guards.meter.check_size(guards.budget.max_size - room)
            guards.meter.work(len(ready[-1]))
        if name in _SET_GROWING:
            guards.meter.charge(guards.budget.max_size - room - len(items))
        guards.meter.work(len(items))
        return method(*ready)

    return call


def _str_wrapper(guards: Guards, text: str, name: str) -> Callable[..., Any] | None:
    check = guards.meter.check_size

    def join(iterable: Iterable[Any], /) -> str:
        items = guards.bounded(iterable)
        pieces = sum(len(item) for item in items if isinstance(item, str))
        check(pieces + len(text) * max(len(items) - 1, 0))
        return _new(guards, text.join(items))

    def replace(old: Any, new: Any, count: Any = -1, /) -> str:
        if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
            found = len(text) + 1 if old == "" else text.count(old)
            found = found if count < 0 else min(found, count)
            check(len(text) + found * (len(new) - len(old)))
        return _new(guards, text.replace(old, new, count))

    def padded(method: Callable[..., str]) -> Callable[..., str]:
        def guarded(width: Any, *args: Any) -> str:
            if isinstance(width, int):
                check(width)
            return _new(guards, method(width, *args))

        return guarded

    def expandtabs(tabsize: Any = 8) -> str:
        if isinstance(tabsize, int):
            check(len(text) + text.count("\t") * max(tabsize, 0))
        return _new(guards, text.expandtabs(tabsize))

    def affix(method: Callable[..., bool]) -> Callable[..., bool]:
        def guarded(affixes: Any, *args: Any) -> bool:
            if isinstance(affixes, tuple):
                guards.operand(affixes)  # each one is compared with the text
            return method(affixes, *args)

        return guarded

    if name in ("startswith", "endswith"):
        return affix(getattr(text, name))
    if name in ("ljust", "rjust", "center", "zfill"):
        return padded(getattr(text, name))
    methods: dict[str, Callable[..., Any]] = {
        "join": join,
        "replace": replace,
        "expandtabs": expandtabs,
    }
    return methods.get(name)


def _list_extend(guards: Guards, items: list[Any]) -> Callable[[Iterable[Any]], None]:
    def extend(iterable: Iterable[Any], /) -> None:
        more = guards.bounded(iterable)
        guards.grown(items, len(more))
        items.extend(more)

    return extend


def _list_sort(guards: Guards, items: list[Any]) -> Callable[..., None]:
    def sort(*, key: Any = None, reverse: bool = False) -> None:
        check_key(key)
        guards.operand(items)
        guards.meter.work_sorting(len(items))
        items.sort(key=key, reverse=reverse)

    return sort


def _strftime(value: dt.date | dt.time) -> Callable[[str], str]:
    def strftime(template: str, /) -> str:
        if isinstance(template, str) and len(template) > _MAX_STRFTIME_CHARS:
            raise Violation(f"strftime format longer than {_MAX_STRFTIME_CHARS} characters")
        return value.strftime(template)

    return strftime
