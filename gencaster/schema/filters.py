"""strawberry-django-shaped filter inputs (API.md), turned into Tortoise ``Q`` objects.

A ``*FilterLookup`` input holds lookups on one column; ``filter_input`` declares a
filter with its columns and the self-referential ``AND``/``OR``. ``filter_to_q`` keeps
strawberry-django's meaning:

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

Databases. PostgreSQL: the ``i*`` lookups use ``UPPER()``, which follows the database's
``LC_CTYPE`` (``C.UTF-8`` or a UTF-8 locale folds ``ä``/``Ä``; plain ``C`` only ASCII);
``regex`` and ``iRegex`` are ``~`` and ``~*``. SQLite knows neither Unicode case nor
regular expressions and its ``LIKE`` ignores ASCII case, so ``register_sqlite_functions``
replaces ``upper`` and ``like`` and adds ``regexp``/``match``; without it ``contains`` is
case-insensitive for ASCII, ``iContains`` is case-sensitive for non-ASCII and ``regex``
fails. Either way one letter maps to one letter (``ß`` stays ``ß``), as in PostgreSQL.

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
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import graphene
from graphene.utils.str_converters import to_snake_case
from tortoise.backends.base.client import Capabilities
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError
from tortoise.expressions import Q

from gencaster.errors import BadUserInput
from gencaster.schema.scalars import UUID

if TYPE_CHECKING:
    import aiosqlite
    from tortoise.backends.base.client import BaseDBAsyncClient
    from tortoise.models import Model
    from tortoise.queryset import QuerySet

    ModelT = TypeVar("ModelT", bound=Model)

MAX_FILTER_DEPTH = 32
"""How deep ``AND``/``OR`` may nest; deeper input is refused before it reaches the ORM."""


# --- Lookups ---------------------------------------------------------------------------


class Shape(Enum):
    """What a lookup's value is, given the lookup input's base type T."""

    VALUE = "T"
    LIST = "[T!]"
    BOOL = "Boolean"
    PATTERN = "String"


@dataclass(frozen=True)
class Lookup:
    attr: str  # Python name in the input container, e.g. "i_exact"
    wire: str  # GraphQL name, e.g. "iExact"
    operator: str  # Tortoise filter suffix ("" is equality)
    shape: Shape
    description: str
    negated: bool = False

    def negation(self) -> Lookup:
        return Lookup(
            attr=f"n_{self.attr}",
            wire=f"n{self.wire[0].upper()}{self.wire[1:]}",
            operator=self.operator,
            shape=self.shape,
            description=(
                "`true`: is not null; `false`: is null."
                if self.shape is Shape.BOOL
                else f"Not `{self.wire}`; rows where the value is null match."
            ),
            negated=True,
        )


_V, _L = Shape.VALUE, Shape.LIST
_BASE_LOOKUPS = (
    Lookup("exact", "exact", "", _V, "Equal to the value."),
    Lookup("i_exact", "iExact", "__iexact", _V, "Equal, ignoring case."),
    Lookup("contains", "contains", "__contains", _V, "Contains the text (case-sensitive)."),
    Lookup("i_contains", "iContains", "__icontains", _V, "Contains the text, ignoring case."),
    Lookup("in_list", "inList", "__in", _L, "Equal to one of the values; `[]` matches nothing."),
    Lookup("gt", "gt", "__gt", _V, "Greater than the value."),
    Lookup("gte", "gte", "__gte", _V, "Greater than or equal to the value."),
    Lookup("lt", "lt", "__lt", _V, "Less than the value."),
    Lookup("lte", "lte", "__lte", _V, "Less than or equal to the value."),
    Lookup("starts_with", "startsWith", "__startswith", _V, "Starts with the text."),
    Lookup("i_starts_with", "iStartsWith", "__istartswith", _V, "Starts with it, in any case."),
    Lookup("ends_with", "endsWith", "__endswith", _V, "Ends with the text."),
    Lookup("i_ends_with", "iEndsWith", "__iendswith", _V, "Ends with it, in any case."),
    Lookup("range", "range", "__range", _L, "Between two values `[from, to]`, both included."),
    Lookup("is_null", "isNull", "__isnull", Shape.BOOL, "`true`: is null; `false`: is not."),
    Lookup("regex", "regex", "__posix_regex", Shape.PATTERN, "A regular expression finds a match."),
    Lookup("i_regex", "iRegex", "__iposix_regex", Shape.PATTERN, "`regex`, ignoring case."),
)
LOOKUPS: tuple[Lookup, ...] = _BASE_LOOKUPS + tuple(lk.negation() for lk in _BASE_LOOKUPS)
_LOOKUP_BY_NAME = {name: lk for lk in LOOKUPS for name in (lk.attr, lk.wire)}


class LookupInput(graphene.InputObjectType):
    """Base of the ``*FilterLookup`` inputs: lookups on one column, ANDed together."""

    class Meta:
        abstract = True


def _lookup_field(lookup: Lookup, base: type[graphene.Scalar]) -> graphene.InputField:
    value_type: Any = {
        Shape.VALUE: base,
        Shape.LIST: graphene.List(graphene.NonNull(base)),
        Shape.BOOL: graphene.Boolean,
        Shape.PATTERN: graphene.String,
    }[lookup.shape]
    return graphene.InputField(value_type, name=lookup.wire, description=lookup.description)


def lookup_input(name: str, base: type[graphene.Scalar]) -> type[LookupInput]:
    """Declare a ``*FilterLookup`` input whose values are of the scalar ``base``."""
    attrs: dict[str, Any] = {lk.attr: _lookup_field(lk, base) for lk in LOOKUPS}
    description = f"Lookups on a {base._meta.name}; all given must hold."
    attrs["Meta"] = type("Meta", (), {"name": name, "description": description})
    return type(name, (LookupInput,), attrs)


StrFilterLookup = lookup_input("StrFilterLookup", graphene.String)
UUIDFilterLookup = lookup_input("UUIDFilterLookup", UUID)
IntFilterLookup = lookup_input("IntFilterLookup", graphene.Int)


# --- Filter inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class FilterField:
    """One field of a filter: a lookup input (or a plain scalar, meaning equality)."""

    lookup: type[LookupInput] | type[graphene.Scalar]
    column: str  # Tortoise field path, e.g. "slug_name" or "graph__name"
    required: bool = False


class FilterInput(graphene.InputObjectType):
    """Base of the inputs built by ``filter_input``; knows each field's column."""

    filter_fields: ClassVar[Mapping[str, FilterField]] = {}  # by Python and by wire name

    class Meta:
        abstract = True


_COMBINATORS = ("AND", "OR")


def filter_input(
    name: str, fields: Mapping[str, FilterField], description: str | None = None
) -> type[FilterInput]:
    """Declare a filter input named ``name`` with ``fields`` (by wire name) plus AND/OR."""
    made: list[type[FilterInput]] = []
    attrs: dict[str, Any] = {}
    by_name: dict[str, FilterField] = {}
    for wire, field in fields.items():
        attr = to_snake_case(wire)
        if wire in _COMBINATORS or attr in _COMBINATORS:
            raise ValueError(f"{name}: {wire!r} is reserved for nesting filters")
        attrs[attr] = graphene.InputField(field.lookup, name=wire, required=field.required)
        by_name[attr] = by_name[wire] = field
    for combinator in _COMBINATORS:
        attrs[combinator] = graphene.InputField(
            lambda: made[0],
            name=combinator,
            description=f"Another {name}, combined with {combinator} with the fields beside it.",
        )
    attrs["filter_fields"] = by_name
    attrs["Meta"] = type("Meta", (), {"name": name, "description": description})
    made.append(type(name, (FilterInput,), attrs))
    return made[0]


GraphFilter = filter_input(
    "GraphFilter",
    {
        "name": FilterField(StrFilterLookup, "name"),
        "slugName": FilterField(StrFilterLookup, "slug_name"),
    },
    "Which graphs to list; fields beside each other must all match.",
)
AudioFileFilter = filter_input(
    "AudioFileFilter",
    {
        "name": FilterField(StrFilterLookup, "name", required=True),
        "autoGenerated": FilterField(graphene.Boolean, "auto_generated", required=True),
        "description": FilterField(StrFilterLookup, "description", required=True),
    },
    "Which audio files to list; fields beside each other must all match.",
)
StreamPointFilter = filter_input(
    "StreamPointFilter",
    {
        "uuid": FilterField(UUIDFilterLookup, "uuid"),
        "janusInPort": FilterField(IntFilterLookup, "janus_in_port"),
    },
    "Which stream points to list; fields beside each other must all match.",
)


# --- Filter values -> Q ----------------------------------------------------------------


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
        if key in _COMBINATORS:
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
        lookup = _LOOKUP_BY_NAME.get(key)
        if lookup is None:
            raise TypeError(f"{field.lookup._meta.name} has no lookup {key!r}")
        parts.append(lookup_q(field.column, lookup, value))
    return _all(parts)


def lookup_q(column: str, lookup: Lookup, value: Any) -> Q:
    """The ``Q`` for one lookup on ``column``, after checking its value."""
    _check_value(lookup, value)
    if lookup.shape is Shape.BOOL:  # isNull / nIsNull
        return Q(**{f"{column}__isnull": bool(value) != lookup.negated})
    positive = Q(**{f"{column}{lookup.operator}": value})
    if lookup.shape is Shape.PATTERN:
        # Tortoise matches COALESCE(column, ''), so '^$' would find nulls; SQL does not.
        positive = positive & Q(**{f"{column}__isnull": False})
    if not lookup.negated:
        return positive
    return ~positive | Q(**{f"{column}__isnull": True})


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
            _compiled(pattern, 0)
    except re.error as exc:
        raise BadUserInput(f"Invalid regular expression {pattern!r}: {exc}") from exc


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


# --- Pagination ------------------------------------------------------------------------


class OffsetPaginationInput(graphene.InputObjectType):
    """A window of a list: skip `offset` items, then return `limit` (-1: all the rest)."""

    offset = graphene.Int(required=True, default_value=0)
    limit = graphene.Int(required=True, default_value=-1)


_ALL_ROWS = 2**63 - 1  # SQLite needs a LIMIT with an OFFSET; Tortoise's default is 1e6 rows


def apply_pagination(
    queryset: QuerySet[ModelT], pagination: Mapping[str, Any] | None
) -> QuerySet[ModelT]:
    """Apply an ``OffsetPaginationInput`` value; ``None`` returns everything."""
    pagination = pagination or {}
    offset = pagination.get("offset", 0)
    limit = pagination.get("limit", -1)
    if offset < 0:
        raise BadUserInput(f"offset must be 0 or more, got {offset}")
    if limit < -1:
        raise BadUserInput(f"limit must be -1 (all) or 0 or more, got {limit}")
    if limit == 0:
        # Tortoise 1.1.9 drops LIMIT 0 from values()/values_list(); a false filter cannot be.
        return queryset.filter(pk__in=[]).limit(0)
    if offset:
        queryset = queryset.offset(offset)
    if limit > 0:
        return queryset.limit(limit)
    return queryset.limit(_ALL_ROWS) if offset else queryset


# --- SQLite functions ------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


@lru_cache(maxsize=256)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == escape:
            parts.append(re.escape(next(chars, "")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _sqlite_like(pattern: Any, value: Any, escape: Any = None) -> bool | None:
    """Case-sensitive LIKE, as in PostgreSQL (SQLite's own ignores ASCII case)."""
    if pattern is None or value is None:
        return None
    return _like_pattern(_text(pattern), escape).fullmatch(_text(value)) is not None


def _sqlite_upper(value: Any) -> str | None:
    """Unicode UPPER(), one letter to one letter like PostgreSQL's (``ß`` stays ``ß``)."""
    if value is None:
        return None
    text = _text(value)
    upper = text.upper()
    if len(upper) == len(text):
        return upper
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def _sqlite_regexp(pattern: Any, value: Any) -> bool | None:
    if pattern is None or value is None:
        return None
    return _compiled(_text(pattern), 0).search(_text(value)) is not None


def _sqlite_iregexp(pattern: Any, value: Any) -> bool | None:
    if pattern is None or value is None:
        return None
    return _compiled(_text(pattern), re.IGNORECASE).search(_text(value)) is not None


async def register_sqlite_functions(connection: aiosqlite.Connection) -> None:
    """Give one SQLite connection what the lookups need: ``regexp`` (``X REGEXP Y``),
    ``match`` (``X MATCH Y``, Tortoise's ``iposix_regex``), a case-sensitive ``like``
    and a Unicode ``upper``. Functions belong to the connection: call again after a
    reconnect."""
    functions = (
        ("regexp", 2, _sqlite_regexp),
        ("match", 2, _sqlite_iregexp),
        ("like", 2, _sqlite_like),
        ("like", 3, _sqlite_like),
        ("upper", 1, _sqlite_upper),
    )
    for name, arity, function in functions:
        await connection.create_function(name, arity, function, deterministic=True)


async def install_sqlite_functions(client: BaseDBAsyncClient) -> bool:
    """Register the functions on a Tortoise SQLite client's current connection (opening it).

    Returns ``False`` for other databases, which need nothing. Tortoise reopens a
    connection after ``close()`` and when it is used from another event loop, and the new
    one lacks the functions: prefer ``SqliteClientWithFunctions``, which cannot forget."""
    if client.capabilities.dialect != "sqlite":
        return False
    async with client.acquire_connection() as connection:
        await register_sqlite_functions(connection)
    return True


class SqliteClientWithFunctions(SqliteClient):
    """Tortoise's SQLite client, with ``register_sqlite_functions`` run on every connection.

    Use it through an engine module (a module whose ``client_class`` is this class) named
    in the connection config: ``{"engine": "<that module>", "credentials": {...}}``."""

    capabilities = Capabilities(
        "sqlite",
        daemon=False,
        requires_limit=True,
        inline_comment=True,
        support_for_update=False,
        support_update_limit_order_by=False,
        support_for_posix_regex_queries=True,
        can_rollback_ddl=True,
        support_returning=True,
    )

    async def _post_connect(self) -> None:
        await super()._post_connect()
        if self._connection is not None:
            await register_sqlite_functions(self._connection)


__all__ = [
    "LOOKUPS",
    "MAX_FILTER_DEPTH",
    "AudioFileFilter",
    "FilterField",
    "FilterInput",
    "GraphFilter",
    "IntFilterLookup",
    "Lookup",
    "LookupInput",
    "OffsetPaginationInput",
    "SqliteClientWithFunctions",
    "StrFilterLookup",
    "StreamPointFilter",
    "UUIDFilterLookup",
    "apply_pagination",
    "check_regex",
    "filter_input",
    "filter_to_q",
    "install_sqlite_functions",
    "lookup_input",
    "lookup_q",
    "register_sqlite_functions",
    "translate_filter_errors",
]
