"""Filter values to Tortoise ``Q`` objects, with strawberry-django's meaning (API.md).

- fields beside each other, and the lookups inside one lookup object, are ANDed;
- ``AND`` is ANDed with the fields beside it, then ``OR`` is ORed with that result
  (strawberry-django walks the fields in declaration order: fields, ``AND``, ``OR``);
- ``{}`` and lookups given as ``null`` filter nothing; an empty side of ``AND``/``OR``
  is dropped, as Django drops an empty ``Q``;
- a negated lookup (``nContains``...) is the complement of the plain one, so rows whose
  column is null match it (Django's ``exclude``); ``nIsNull`` is "is not null";
- ``inList: []`` matches nothing and ``nInList: []`` everything; ``range`` takes exactly
  two values, both included;
- ``contains``/``startsWith``/``endsWith`` match text literally: ``%``, ``_`` and ``\\``
  are escaped for ``LIKE``.

PostgreSQL: the ``i*`` lookups use ``UPPER()``, which follows the database's ``LC_CTYPE``
(``C.UTF-8`` or a UTF-8 locale folds ``ä``/``Ä``; plain ``C`` only ASCII); ``regex`` and
``iRegex`` are ``~`` and ``~*``. SQLite gets the same meaning from the functions of
``gencaster.sqlite``.

Regular expressions are checked with Python's ``re`` before any query, so an invalid
pattern is ``BAD_USER_INPUT`` on both databases; SQLite then runs Python's ``re`` and
PostgreSQL its own engine. The two agree on the common syntax (classes, ``\\d \\w \\s``,
quantifiers, groups, ``^ $ |``) but not everywhere: in PostgreSQL ``\\b`` is a backspace
(its word boundary is ``\\y``), and it refuses some Python syntax such as ``(?P<name>...)``;
``translate_filter_errors`` turns that refusal into ``BAD_USER_INPUT`` too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from graphene.utils.str_converters import to_snake_case
from tortoise.exceptions import OperationalError
from tortoise.expressions import Q

from gencaster.errors import BadUserInput
from gencaster.schema.filters.inputs import (
    COMBINATORS,
    LOOKUP_BY_NAME,
    MAX_FILTER_DEPTH,
    FilterField,
    FilterInput,
    Lookup,
    LookupInput,
    Shape,
)
from gencaster.text import clip


def filter_to_q(value: Mapping[str, Any] | None, input_type: type[FilterInput]) -> Q:
    """The ``Q`` for a filter value of ``input_type``; ``None`` and ``{}`` give ``Q()``.

    Raises ``BadUserInput`` for values the database must not see (bad regex, a ``range``
    without two values, NUL characters, nesting deeper than ``MAX_FILTER_DEPTH``)."""
    return _filter_q(value or {}, input_type, depth=0)


def _filter_q(value: Mapping[str, Any], input_type: type[FilterInput], depth: int) -> Q:
    if depth > MAX_FILTER_DEPTH:
        raise BadUserInput(f"Filters may nest AND/OR at most {MAX_FILTER_DEPTH} levels deep")
    beside: list[Q] = []
    nested: dict[str, Mapping[str, Any]] = {}
    for key, item in value.items():
        if item is None:
            continue
        if key in COMBINATORS:
            nested[key] = item
            continue
        field = input_type.filter_fields.get(key)
        if field is None:
            raise TypeError(f"{input_type._meta.name} has no field {key!r}")
        beside.append(_field_q(field, item))
    q = _all(beside)
    if "AND" in nested:
        q = _all([q, _filter_q(nested["AND"], input_type, depth + 1)])
    if "OR" in nested:
        q = _any([q, _filter_q(nested["OR"], input_type, depth + 1)])
    return q


def _field_q(field: FilterField, item: Any) -> Q:
    if not (isinstance(field.lookup, type) and issubclass(field.lookup, LookupInput)):
        _check_text(item)
        return Q(**{field.column: item})
    parts = []
    for key, value in item.items():
        if value is None:
            continue
        lookup = LOOKUP_BY_NAME.get(key)
        if lookup is None:
            raise TypeError(f"{field.lookup._meta.name} has no lookup {key!r}")
        parts.append(lookup_q(field.column, lookup, value))
    return _all(parts)


def lookup_q(column: str, lookup: Lookup, value: Any) -> Q:
    """The ``Q`` for one lookup on ``column``, after checking its value."""
    _check_value(lookup, value)
    if lookup.shape is Shape.BOOL:  # isNull / nIsNull
        return _where(f"{column}__isnull", bool(value) != lookup.negated)
    positive = _where(f"{column}{lookup.operator}", value)
    if lookup.shape is Shape.PATTERN:
        # Tortoise matches COALESCE(column, ''), so '^$' would find nulls; SQL does not.
        positive = positive & _where(f"{column}__isnull", False)
    if not lookup.negated:
        return positive
    return ~positive | _where(f"{column}__isnull", True)


def _where(condition: str, value: Any) -> Q:
    """``Q(condition=value)`` for a condition named at run time."""
    return Q(**{condition: value})


def _all(parts: Iterable[Q]) -> Q:
    return _join([q for q in parts if q], Q.AND)


def _any(parts: Iterable[Q]) -> Q:
    return _join([q for q in parts if q], Q.OR)


def _join(parts: list[Q], join_type: str) -> Q:
    if not parts:
        return Q()
    if len(parts) == 1:
        return parts[0]
    return Q(*parts, join_type=join_type)


def _check_value(lookup: Lookup, value: Any) -> None:
    if lookup.shape is Shape.LIST:
        for element in value:
            _check_text(element)
        if lookup.operator == "__range" and len(value) != 2:
            raise BadUserInput(
                f"{lookup.wire} needs exactly two values [from, to], got {len(value)}"
            )
    elif lookup.shape is Shape.PATTERN:
        check_regex(value)
    else:
        _check_text(value)


def _check_text(value: Any) -> None:
    # PostgreSQL cannot store or compare text with NUL characters; it would fail the query.
    if isinstance(value, str) and "\x00" in value:
        raise BadUserInput("Filter values cannot contain NUL characters")


MAX_REGEX_LENGTH = 200
REGEX_LOOKUPS = frozenset({"regex", "i_regex", "n_regex", "n_i_regex"})


def uses_regex(value: Any) -> bool:
    """True if a filter value, at any depth, asks for a regular-expression lookup.

    A regular expression can be made to backtrack for minutes (on SQLite inside the
    server process), so anonymous callers may not use them.
    """
    if isinstance(value, Mapping):
        return any(
            (to_snake_case(key) in REGEX_LOOKUPS and item is not None) or uses_regex(item)
            for key, item in value.items()
        )
    return False


def check_regex(pattern: str) -> None:
    """Refuse a pattern Python's ``re`` cannot compile (``BadUserInput``)."""
    _check_text(pattern)
    if len(pattern) > MAX_REGEX_LENGTH:
        raise BadUserInput(f"A regular expression may have at most {MAX_REGEX_LENGTH} characters")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. FutureWarning "possible nested set"
            _compiled(pattern)
    except re.error as exc:
        raise BadUserInput(f"Invalid regular expression {clip(repr(pattern), 100)}: {exc}") from exc


_INVALID_REGULAR_EXPRESSION = "2201B"  # SQLSTATE


@contextmanager
def translate_filter_errors() -> Iterator[None]:
    """Wrap the ``await`` of a filtered query: when PostgreSQL refuses a regular expression
    that Python accepted, the client gets ``BAD_USER_INPUT`` instead of a server error."""
    try:
        yield
    except OperationalError as exc:
        causes = (exc.__cause__, *exc.args)
        refused = [c for c in causes if getattr(c, "sqlstate", None) == _INVALID_REGULAR_EXPRESSION]
        if not refused:
            raise
        detail = getattr(refused[0], "message", "") or "not supported by the database"
        raise BadUserInput(f"Invalid regular expression: {detail}") from exc


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
