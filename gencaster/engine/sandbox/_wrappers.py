"""Size checks for builtins and methods whose cost their arguments decide.

``"x".ljust(10**10)`` or ``sorted(key=str)`` would allocate or loop inside C code where no
step counter reaches, so these check their arguments first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from types import FunctionType
from typing import TYPE_CHECKING, Any

from ._errors import Violation

if TYPE_CHECKING:
    from ._guards import Guards

_MAX_STRFTIME_CHARS = 200
_MAX_ROUND_DIGITS = 1000
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
        guards.operand(iterable)
        return _new(guards, sorted(iterable, key=key, reverse=reverse))

    def extreme(function: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_key(kwargs.get("key"))
            guards.operand(args[0] if len(args) == 1 else args)
            return function(*args, **kwargs)

        return guarded

    def guarded_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
        if not isinstance(start, int | float):
            raise TypeError("sum() only adds numbers")
        return sum(iterable, start)

    def guarded_round(number: Any, ndigits: Any = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > _MAX_ROUND_DIGITS:
            raise ValueError(f"round() takes at most {_MAX_ROUND_DIGITS} digits")
        return round(number, ndigits)

    def builder(kind: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args, **kwargs: _new(guards, kind(*args, **kwargs))

    return {
        range: guarded_range,
        str: guarded_str,
        repr: lambda value: guards.text(value, repr),
        sorted: guarded_sorted,
        min: extreme(min),
        max: extreme(max),
        sum: guarded_sum,
        round: guarded_round,
        list: builder(list),
        tuple: builder(tuple),
        set: builder(set),
        dict: builder(dict),
    }


def method_wrapper(guards: Guards, obj: Any, name: str) -> Callable[..., Any] | None:
    """A checked stand-in for ``obj.name``, or None when the plain method is safe."""
    kind = type(obj)
    if kind is str:
        return _str_wrapper(guards, obj, name)
    if kind is list and name in ("extend", "sort"):
        return _list_extend(guards, obj) if name == "extend" else _list_sort(guards, obj)
    if kind in (dt.datetime, dt.date, dt.time) and name == "strftime":
        return _strftime(obj)
    return None


def _str_wrapper(guards: Guards, text: str, name: str) -> Callable[..., Any] | None:
    check = guards.meter.check_size

    def join(iterable: Iterable[Any], /) -> str:
        items = list(iterable)
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

    if name in ("ljust", "rjust", "center", "zfill"):
        return padded(getattr(text, name))
    return {"join": join, "replace": replace, "expandtabs": expandtabs}.get(name)


def _list_extend(guards: Guards, items: list[Any]) -> Callable[[Iterable[Any]], None]:
    def extend(iterable: Iterable[Any], /) -> None:
        more = list(iterable)
        guards.meter.check_size(len(items) + len(more))
        guards.meter.charge(len(more))
        items.extend(more)

    return extend


def _list_sort(guards: Guards, items: list[Any]) -> Callable[..., None]:
    def sort(*, key: Any = None, reverse: bool = False) -> None:
        check_key(key)
        guards.operand(items)
        items.sort(key=key, reverse=reverse)

    return sort


def _strftime(value: dt.date | dt.time) -> Callable[[str], str]:
    def strftime(template: str, /) -> str:
        if isinstance(template, str) and len(template) > _MAX_STRFTIME_CHARS:
            raise Violation(f"strftime format longer than {_MAX_STRFTIME_CHARS} characters")
        return value.strftime(template)

    return strftime
