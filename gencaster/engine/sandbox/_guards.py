"""Run-time guards that rewritten code calls (see ``_rewriter``); one ``Guards`` per run."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
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
_WEIGHED = (list, tuple, dict, set, frozenset, VarsProxy)
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
        }

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
        return result

    # Arithmetic -------------------------------------------------------------------------

    def binop(self, symbol: str, left: Any, right: Any) -> Any:
        self._check_operands(symbol, left, right)
        result = _BINARY[symbol](left, right)
        self._account(result, left, right)
        return result

    def augop(self, symbol: str, left: Any, right: Any) -> Any:
        self._check_operands(symbol, left, right)
        result = _INPLACE[symbol](left, right)
        self._account(result, left, right)
        return result

    def _check_operands(self, symbol: str, left: Any, right: Any) -> None:
        if symbol == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self.meter.check_size(len(left) + len(right))
        elif symbol == "*":
            self._check_product(left, right)
        elif symbol == "**" and _is_int(left) and _is_int(right) and right > 0:
            # A lower bound of the result's bits; the exact size is checked afterwards.
            self._check_bits((abs(left).bit_length() - 1) * right)
        elif symbol == "<<" and _is_int(left) and _is_int(right) and left and right > 0:
            self._check_bits(left.bit_length() + right)
        elif symbol == "%" and isinstance(left, str | bytes):
            raise Violation("'%' formatting of strings is not allowed; use an f-string")

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
        if isinstance(value, _WEIGHED):
            weigh(value, self.budget.max_weight, self.meter.tick, as_text=False)
        return value

    def weigh(self, value: Any, *, as_text: bool = False) -> None:
        limit = self.budget.max_size if as_text else self.budget.max_weight
        weigh(value, limit, self.meter.tick, as_text=as_text)

    def text(self, value: Any, convert: Callable[[Any], str] = str) -> str:
        """``str``/``repr`` of a value whose text could be far larger than the value."""
        self.weigh(value, as_text=True)
        result = convert(value)
        self.meter.check_size(len(result))
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
