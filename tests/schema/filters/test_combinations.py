"""How fields, AND and OR combine (strawberry-django's rules), and what is ignored."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.expressions import Q

from gencaster.errors import BadUserInput
from gencaster.schema.filters import MAX_FILTER_DEPTH, filter_to_q
from tests.schema.filters.support import ALL, ItemFilter, but, matching, on_db_loop

CASES: list[tuple[str, dict[str, Any] | None, set[str]]] = [
    ("none filters nothing", None, set(ALL)),
    ("empty filter", {}, set(ALL)),
    ("empty lookup object", {"name": {}}, set(ALL)),
    ("every field empty", {"name": {}, "number": {}, "ident": {}}, set(ALL)),
    ("explicit null field", {"name": None}, set(ALL)),
    ("explicit null lookups", {"name": {"exact": None, "nIsNull": None}}, set(ALL)),
    ("null beside a lookup", {"number": {"exact": None, "gt": 10}}, {"d", "e"}),
    ("plain boolean is equality", {"flag": True}, {"a", "i"}),
    ("plain boolean false", {"flag": False}, but("a", "i")),
    ("fields beside each other AND", {"name": {"contains": "lpha"}, "number": {"gt": 1}}, {"b"}),
    ("lookups in one object AND", {"name": {"iStartsWith": "al", "nExact": "Alpha"}}, {"b"}),
    (
        "AND with the fields beside it",
        {"number": {"gte": 5}, "AND": {"number": {"lte": 10}}},
        {"b", "c", "i"},
    ),
    (
        "OR with the fields beside it",
        {"name": {"exact": "Alpha"}, "OR": {"number": {"exact": 10}}},
        {"a", "c"},
    ),
    (
        "OR with the fields beside it ANDed",
        {"flag": True, "number": {"gt": 1}, "OR": {"number": {"exact": 10}}},
        {"i", "c"},
    ),
    (
        "AND first, then OR",
        {"number": {"gte": 5}, "AND": {"number": {"lte": 10}}, "OR": {"name": {"exact": "Alpha"}}},
        {"a", "b", "c", "i"},
    ),
    (
        "nested ORs",
        {
            "name": {"exact": "Alpha"},
            "OR": {"name": {"exact": "Grüße"}, "OR": {"number": {"exact": -3}}},
        },
        {"a", "i", "f"},
    ),
    (
        "nested ANDs",
        {"number": {"gte": 0}, "AND": {"number": {"lte": 10}, "AND": {"name": {"iContains": "a"}}}},
        {"a", "b"},
    ),
    (
        "OR inside AND",
        {"flag": False, "AND": {"number": {"lt": 0}, "OR": {"number": {"gt": 15}}}},
        {"f", "e"},
    ),
    ("only OR", {"OR": {"number": {"exact": 10}}}, {"c"}),
    ("only AND", {"AND": {"number": {"exact": 10}}}, {"c"}),
    # An empty side is dropped (Django: Q() | Q(x) is Q(x)), not read as "everything".
    ("empty fields beside OR", {"name": {}, "OR": {"number": {"exact": 10}}}, {"c"}),
    ("empty OR", {"number": {"exact": 10}, "OR": {}}, {"c"}),
    ("empty AND", {"number": {"exact": 10}, "AND": {}}, {"c"}),
    ("null OR", {"number": {"exact": 10}, "OR": None}, {"c"}),
    ("Python names work too", {"name": {"i_starts_with": "AL", "n_exact": "Alpha"}}, {"b"}),
]


@on_db_loop
@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_combination(db: str, value: dict[str, Any] | None, expected: set[str]) -> None:
    assert await matching(value) == expected


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"number": {"exact": 10}}
    for _ in range(depth):
        value = {"OR": value}
    return value


@on_db_loop
async def test_nesting_up_to_the_limit_works(db: str) -> None:
    assert await matching(_nested(MAX_FILTER_DEPTH)) == {"c"}


@pytest.mark.parametrize(
    "value",
    [
        _nested(MAX_FILTER_DEPTH + 1),
        {"name": {"range": ["a"]}},
        {"name": {"nRange": ["a", "b", "c"]}},
        {"number": {"range": []}},
        {"name": {"contains": "a\x00b"}},
        {"name": {"inList": ["ok", "a\x00"]}},
        {"name": {"regex": "("}},
    ],
    ids=[
        "too deep",
        "range of one",
        "range of three",
        "empty range",
        "NUL",
        "NUL in list",
        "bad regex",
    ],
)
def test_bad_values_are_bad_user_input(value: dict[str, Any]) -> None:
    with pytest.raises(BadUserInput):
        filter_to_q(value, ItemFilter)


def test_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="no field 'colour'"):
        filter_to_q({"colour": {"exact": "red"}}, ItemFilter)
    with pytest.raises(TypeError, match="no lookup 'like'"):
        filter_to_q({"name": {"like": "a%"}}, ItemFilter)


def test_nothing_to_filter_gives_an_empty_q() -> None:
    assert not filter_to_q(None, ItemFilter)
    assert not filter_to_q({"name": {}, "OR": {}, "AND": {"number": {"exact": None}}}, ItemFilter)
    assert isinstance(filter_to_q({}, ItemFilter), Q)
