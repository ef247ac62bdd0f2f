"""Run-time guards that rewritten code calls (see ``_rewriter``); one ``Guards`` per run."""

from __future__ import annotations

import dataclasses
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sized
from itertools import compress, islice
from types import BuiltinFunctionType
from typing import Any

from . import _rewriter as names
from ._budget import Meter
from ._errors import Violation
from ._namespaces import Namespace, VarsProxy
from ._policy import (
    CLASS_ATTRIBUTES,
    EXCEPTION_ATTRIBUTES,
    INSTANCE_ATTRIBUTES,
    VARS_ATTRIBUTES,
    is_forbidden_attribute,
)
from ._weigh import weigh
from ._wrappers import builtin_guards, method_wrapper

SIZED = (str, bytes, list, tuple, dict, set, frozenset)
_SEQUENCES = (str, bytes, list, tuple)
_VIEWS: tuple[type[Sized], ...] = (type({}.keys()), type({}.values()), type({}.items()))
_WEIGHED: tuple[type, ...] = (list, tuple, dict, set, frozenset, VarsProxy, *_VIEWS)
# Tuples hash every item on every hash; a frozenset once. Both are weighed first.
_DEEP_HASH = (tuple, frozenset)
_DEEP_HASH_TYPES = frozenset(_DEEP_HASH)
_HASHED_CONTAINERS: tuple[type, ...] = (
    dict,
    set,
    frozenset,
    VarsProxy,
    type({}.keys()),
    type({}.items()),
)
_SET_OPERATORS = frozenset("|&^-")
_CROWD = 32
_SALTED = frozenset({str})
_ELEMENT_WISE: tuple[type[Sized], ...] = (list, tuple, dict, set, frozenset, range, *_VIEWS)
_NO_ATTRIBUTES: frozenset[str] = frozenset()
_MAX_SPEC_CHARS = 100
_MAX_SPEC_NUMBER = 1000
_SPEC_NUMBER = re.compile(r"\d+")

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "@": operator.matmul,
    "/": operator.truediv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "|": operator.or_, "^": operator.xor, "&": operator.and_,
    "//": operator.floordiv,
}  # fmt: skip
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.iadd, "-": operator.isub, "*": operator.imul, "@": operator.imatmul,
    "/": operator.itruediv, "%": operator.imod, "**": operator.ipow, "<<": operator.ilshift,
    ">>": operator.irshift, "|": operator.ior, "^": operator.ixor, "&": operator.iand,
    "//": operator.ifloordiv,
}  # fmt: skip


def allowed_attributes(obj: object) -> frozenset[str]:
    allowed = INSTANCE_ATTRIBUTES.get(type(obj))
    if allowed is not None:
        return allowed
    if isinstance(obj, type):
        return CLASS_ATTRIBUTES.get(obj, _NO_ATTRIBUTES)
    if isinstance(obj, Namespace):
        return obj.member_names
    if isinstance(obj, VarsProxy):
        return VARS_ATTRIBUTES
    if isinstance(obj, BaseException):
        return EXCEPTION_ATTRIBUTES
    return _NO_ATTRIBUTES


def _kind(obj: object) -> str:
    if isinstance(obj, Namespace):
        return repr(obj.label)
    if isinstance(obj, type):
        return f"class {obj.__name__}"
    return type(obj).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int)


class Guards:
    """The helpers behind the ``_gc_*`` names of rewritten code, bound to one run's meter."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.budget = meter.budget
        self._builtin_guards = builtin_guards(self)

    def helpers(self) -> dict[str, object]:
        return {
            names.TICK: self.meter.tick,
            names.GETATTR: self.getattr,
            names.CALL: self.call,
            names.BINOP: self.binop,
            names.AUGOP: self.augop,
            names.OPERAND: self.operand,
            names.FORMAT: self.format,
            names.BUILT: self.built,
            names.SLICE: slice,
            names.ITEM: self.item,
            names.KEY: self.key,
            names.SETITEM: self.setitem,
            names.HASHED: self.hashed,
            names.COLLECT: self.collect,
            names.MERGE: self.merge,
            names.CONTAINS: self.contains,
        }

    # What C code will loop over, hash or copy: weighed and counted before it runs -----

    def bounded(self, iterable: Iterable[Any], room: int | None = None) -> list[Any]:
        """At most ``room`` (default: the size limit) items of any iterable, as a list."""
        limit = self.budget.max_size if room is None else max(room, 0)
        too_many = f"too many items (at most {self.budget.max_size} in one value)"
        if isinstance(iterable, _ELEMENT_WISE) and len(iterable) > limit:
            raise Violation(too_many)
        items = list(islice(iterable, limit + 1))
        if len(items) > limit:
            raise Violation(too_many)
        self.meter.work(len(items))
        return items

    def hashed(self, key: Any) -> Any:
        """A set item or dict key about to be hashed: a tuple hashes all it holds, each time."""
        if type(key) in _DEEP_HASH:
            self.meter.work(weigh(key, self.budget.max_weight, self.meter.tick, as_text=False))
        return key

    def hashed_all(self, items: list[Any]) -> None:
        """Many items about to be hashed (``set(items)``, ``s.update(items)``)."""
        self.meter.work(len(items))
        if not _DEEP_HASH_TYPES.isdisjoint(map(type, items)):
            self.meter.work(weigh(items, self.budget.max_weight, self.meter.tick, as_text=False))
        self.spread(items)

    def spread(self, keys: Iterable[Any]) -> None:
        """Refuse putting many different keys with one hash into one set or dict at once.

        Each such key probes past all the others, so ``set(keys)`` would cost the square of
        their number inside one C call. Ints, floats and tuples of them can be chosen to
        collide; strings cannot (their hashes are salted per process).
        """
        keys = list(keys)
        if len(keys) <= _CROWD or set(map(type, keys)) <= _SALTED:
            return
        try:
            hashes = list(map(hash, keys))
        except TypeError:
            return  # unhashable: the operation itself says so
        counts = Counter(hashes)
        if max(counts.values()) <= _CROWD:
            return
        crowded = {key for key, count in counts.items() if count > _CROWD}
        cost = sum(count * count for count in counts.values() if count <= _CROWD)
        pairs = list(compress(zip(hashes, keys, strict=True), map(crowded.__contains__, hashes)))
        cost += self._different(pairs) ** 2  # at least the sum of each crowd's square
        if cost > self.budget.max_weight:
            raise Violation("too many different keys with the same hash")
        self.meter.work(cost)

    def _different(self, pairs: list[tuple[int, Any]]) -> int:
        """How many different keys the (hash, key) pairs hold; equal keys are cheap to add."""
        self.meter.work_sorting(len(pairs))
        try:
            pairs.sort()  # by hash, then by key: equal keys end up next to each other
        except TypeError:  # keys that cannot be ordered: count them all as different
            return len(pairs)
        return 1 + sum(map(operator.ne, pairs, islice(pairs, 1, None)))

    def grown(self, container: Any, more: int) -> None:
        """Refuse adding up to ``more`` items to ``container`` past the size limit."""
        self.meter.check_size(len(container) + more)
        self.meter.charge(more)

    def collect(self, kind: str, *parts: Iterable[Any]) -> Any:
        """``[a, *b, *c]`` and ``f(*b, *c)``: joined only once the total size is known."""
        items: list[Any] = []
        for part in parts:
            items.extend(self.bounded(part, self.budget.max_size - len(items)))
        self.meter.charge(len(items))
        if kind == "set":
            self.hashed_all(items)
            return set(items)
        return tuple(items) if kind == "tuple" else items

    def merge(self, *parts: Any) -> dict[Any, Any]:
        """``{**a, **b}`` and ``f(**a, **b)``: every part's size is counted before merging."""
        total = 0
        for part in parts:
            if not isinstance(part, Mapping):
                raise TypeError(f"'{type(part).__name__}' object is not a mapping")
            total += len(part)
        self.meter.check_size(total)
        self.meter.work(total)
        merged: dict[Any, Any] = {}
        for part in parts:
            self.spread(part)
            merged.update(part)
        self.meter.charge(len(merged))
        return merged

    # Items ------------------------------------------------------------------------------

    def item(self, obj: Any, key: Any) -> Any:
        """``obj[key]``: a slice copies (counted), a dict key is hashed (weighed)."""
        if type(key) is slice:
            if isinstance(obj, _SEQUENCES):
                length = len(range(*key.indices(len(obj))))
                self.meter.check_size(length)
                self.meter.charge(length)
                self.meter.work(length)
        elif isinstance(obj, dict | VarsProxy):
            self.hashed(key)
        return obj[key]

    def key(self, key: Any, deleting: bool) -> Any:
        """The key of ``obj[key]`` in a ``del`` or an unpacking target."""
        if type(key) is slice and not deleting:
            raise Violation("assign to a slice only in a plain 'x[a:b] = value'")
        return self.hashed(key)

    def setitem(self, value: Any, obj: Any, key: Any) -> None:
        """``obj[key] = value`` (arguments in Python's order of evaluation)."""
        if type(key) is slice and type(obj) is list:
            items = self.bounded(value)
            removed = len(range(*key.indices(len(obj))))
            self.grown(obj, len(items) - removed)
            obj[key] = items
            return
        if isinstance(obj, dict | VarsProxy):
            self.hashed(key)
            if isinstance(obj, dict) and len(obj) >= self.budget.max_size and key not in obj:
                raise Violation(f"dict too large (over {self.budget.max_size} keys)")
        obj[key] = value

    def contains(self, item: Any, container: Any) -> bool:
        """``item in container``: hashing for sets and dicts, comparisons for the rest."""
        if isinstance(container, _HASHED_CONTAINERS):
            self.hashed(item)
        elif not isinstance(container, str | range):
            self.operand(container)
            self.operand(item)
        return item in container

    # Attributes and calls -------------------------------------------------------------

    def getattr(self, obj: object, name: str) -> object:
        if is_forbidden_attribute(name) or name not in allowed_attributes(obj):
            raise Violation(f"attribute {name!r} of {_kind(obj)} is not allowed")
        if isinstance(obj, Namespace):
            return obj.member(name)
        wrapper = method_wrapper(self, obj, name)
        return wrapper if wrapper is not None else getattr(obj, name)

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.meter.tick()
        guard = None
        if isinstance(func, type | BuiltinFunctionType):
            guard = self._builtin_guards.get(func)
        result = (guard or func)(*args, **kwargs)
        self.check_value(result)
        if isinstance(getattr(func, "__self__", None), str):
            self._charge_text(result)  # str methods build new text: count it like any other
        return result

    def _charge_text(self, result: Any) -> None:
        if isinstance(result, str):
            self.meter.charge(len(result))
        elif isinstance(result, list | tuple) and all(map(str.__instancecheck__, result)):
            self.meter.charge(len(result) + sum(map(len, result)))

    # Arithmetic -------------------------------------------------------------------------

    def binop(self, symbol: str, left: Any, right: Any) -> Any:
        self._check_operands(symbol, left, right)
        result = _BINARY[symbol](left, right)
        self._account(result, left, right)
        return result

    def augop(self, symbol: str, left: Any, right: Any) -> Any:
        if symbol == "+" and type(left) is list and not isinstance(right, _SEQUENCES):
            right = self.bounded(right)  # ``items += any_iterable`` extends in C code
        self._check_operands(symbol, left, right)
        result = _INPLACE[symbol](left, right)
        self._account(result, left, right)
        return result

    def _check_operands(self, symbol: str, left: Any, right: Any) -> None:
        if symbol == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self.meter.check_size(len(left) + len(right))
            self.meter.work(len(left) + len(right))
        elif symbol in _SET_OPERATORS and isinstance(left, _HASHED_CONTAINERS):
            self._check_set_operation(symbol, left, right)
        elif symbol == "*":
            self._check_product(left, right)
        elif symbol == "**" and _is_int(left) and _is_int(right) and right > 0:
            # A lower bound of the result's bits; the exact size is checked afterwards.
            self._check_bits((abs(left).bit_length() - 1) * right)
        elif symbol == "<<" and _is_int(left) and _is_int(right) and left and right > 0:
            self._check_bits(left.bit_length() + right)
        elif symbol == "%" and isinstance(left, str | bytes):
            raise Violation("'%' formatting of strings is not allowed; use an f-string")

    def _check_set_operation(self, symbol: str, left: Any, right: Any) -> None:
        """``a | b`` of sets, dicts and dict views: sized, and what is not a set yet hashed."""
        for side in (left, right):
            if isinstance(side, set | frozenset | dict):
                self.spread(side)  # their hashes are stored, but they are inserted again
            else:
                self.hashed_all(self.bounded(side))
        if symbol in "|^" and hasattr(right, "__len__"):
            self.meter.check_size(len(left) + len(right))
        self.meter.work(len(left) + (len(right) if hasattr(right, "__len__") else 0))

    def _check_product(self, left: Any, right: Any) -> None:
        if isinstance(left, _SEQUENCES) and _is_int(right):
            self.meter.check_size(len(left) * max(right, 0))
        elif isinstance(right, _SEQUENCES) and _is_int(left):
            self.meter.check_size(len(right) * max(left, 0))
        elif _is_int(left) and _is_int(right):
            self._check_bits(left.bit_length() + right.bit_length() - 1)

    def _check_bits(self, bits: int) -> None:
        if bits > self.budget.max_int_bits:
            raise Violation(f"number too large (over {self.budget.max_int_bits} bits)")

    def _account(self, result: Any, left: Any, right: Any) -> None:
        self.check_value(result)
        if isinstance(result, SIZED):
            grown = len(right) if result is left and isinstance(right, SIZED) else len(result)
            self.meter.charge(grown)

    def check_value(self, value: Any) -> None:
        """The backstop for every call and operation: no value over the size limits."""
        if isinstance(value, SIZED):
            self.meter.check_size(len(value))
        elif _is_int(value):
            self._check_bits(value.bit_length())

    def built(self, value: Any) -> Any:
        """A freshly built value (an f-string): check and count it."""
        self.check_value(value)
        if isinstance(value, SIZED):
            self.meter.charge(len(value))
        return value

    # Comparisons and text -----------------------------------------------------------------

    def operand(self, value: Any) -> Any:
        """Comparing big nested values costs far more than their length: weigh them first."""
        if isinstance(value, _WEIGHED) or (
            dataclasses.is_dataclass(value) and not isinstance(value, type)
        ):
            cost = weigh(value, self.budget.max_weight, self.meter.tick, as_text=False)
            self.meter.work(cost)
        return value

    def weigh(self, value: Any, *, as_text: bool = False) -> None:
        limit = self.budget.max_size if as_text else self.budget.max_weight
        weigh(value, limit, self.meter.tick, as_text=as_text)

    def text(self, value: Any, convert: Callable[[Any], str] = str) -> str:
        """``str``/``repr`` of a value whose text could be far larger than the value."""
        self.weigh(value, as_text=True)
        result = convert(value)
        self.meter.check_size(len(result))
        self.meter.charge(len(result))
        return result

    def format(self, value: Any, conversion: int, spec: Any) -> str:
        if not isinstance(spec, str):
            raise TypeError("format spec must be a str")
        self._check_spec(spec)
        if conversion == ord("r"):
            value = self.text(value, repr)
        elif conversion == ord("a"):
            value = self.text(value, ascii)
        elif conversion == ord("s"):
            value = self.text(value)
        elif not isinstance(value, str):
            self.weigh(value, as_text=True)
        result = format(value, spec)
        self.meter.check_size(len(result))
        return result

    def _check_spec(self, spec: str) -> None:
        numbers = (int(match) for match in _SPEC_NUMBER.findall(spec))
        if len(spec) > _MAX_SPEC_CHARS or any(number > _MAX_SPEC_NUMBER for number in numbers):
            raise Violation("format spec too large (widths and precisions up to 1000)")
