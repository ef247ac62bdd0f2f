"""The filter inputs of the API: ``*FilterLookup`` inputs and the filters built from them.

A ``*FilterLookup`` input holds lookups on one column; ``filter_input`` declares a
filter with its columns and the self-referential ``AND``/``OR``. What a value of these
inputs means is ``translate``'s concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

import graphene
from graphene.utils.str_converters import to_snake_case

from gencaster.schema.scalars import UUID

MAX_FILTER_DEPTH = 32
"""How deep ``AND``/``OR`` may nest; deeper input is refused before it reaches the ORM."""

COMBINATORS = ("AND", "OR")


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
LOOKUP_BY_NAME = {name: lk for lk in LOOKUPS for name in (lk.attr, lk.wire)}


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


def filter_input(
    name: str, fields: Mapping[str, FilterField], description: str | None = None
) -> type[FilterInput]:
    """Declare a filter input named ``name`` with ``fields`` (by wire name) plus AND/OR."""
    made: list[type[FilterInput]] = []
    attrs: dict[str, Any] = {}
    by_name: dict[str, FilterField] = {}
    for wire, field in fields.items():
        attr = to_snake_case(wire)
        if wire in COMBINATORS or attr in COMBINATORS:
            raise ValueError(f"{name}: {wire!r} is reserved for nesting filters")
        attrs[attr] = graphene.InputField(field.lookup, name=wire, required=field.required)
        by_name[attr] = by_name[wire] = field
    for combinator in COMBINATORS:
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
