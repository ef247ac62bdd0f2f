"""Every lookup and its negation, on text, integer and UUID columns, on both databases.

Negated lookups are complements: rows whose column is null ("g") match them.
"""

from __future__ import annotations

from typing import Any

import pytest

from gencaster.schema.filters import LOOKUPS
from tests.schema.filters.support import ALL, but, ident, matching, on_db_loop

NAME_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"exact": "Alpha"}, {"a"}),
    ({"nExact": "Alpha"}, but("a")),
    ({"exact": ""}, {"h"}),
    ({"iExact": "ALPHA"}, {"a"}),
    ({"nIExact": "aLpHa"}, but("a")),
    ({"iExact": "äPFEL UND öL"}, {"e"}),
    ({"iExact": "GRÜßE"}, {"i"}),
    ({"contains": "lpha"}, {"a", "b"}),
    ({"contains": "LPHA"}, set()),
    ({"contains": "Öl"}, {"e"}),
    ({"nContains": "lpha"}, but("a", "b")),
    ({"iContains": "LPHA"}, {"a", "b"}),
    ({"iContains": "öL"}, {"e"}),
    ({"iContains": "RÜß"}, {"i"}),
    ({"nIContains": "ALPHA"}, but("a", "b")),
    ({"inList": ["Alpha", "Grüße", "missing"]}, {"a", "i"}),
    ({"inList": []}, set()),
    ({"nInList": ["Alpha", ""]}, but("a", "h")),
    ({"nInList": []}, set(ALL)),
    ({"gt": "alpha"}, {"b", "d", "e", "f"}),
    ({"nGt": "alpha"}, but("b", "d", "e", "f")),
    ({"gte": "alpha beta"}, {"b", "d", "e", "f"}),
    ({"nGte": "alpha beta"}, but("b", "d", "e", "f")),
    ({"lt": "B"}, {"a", "c", "h"}),
    ({"nLt": "B"}, but("a", "c", "h")),
    ({"lte": "Alpha"}, {"a", "c", "h"}),
    ({"nLte": "Alpha"}, but("a", "c", "h")),
    ({"startsWith": "al"}, {"b"}),
    ({"nStartsWith": "al"}, but("b")),
    ({"iStartsWith": "AL"}, {"a", "b"}),
    ({"iStartsWith": "äp"}, {"e"}),
    ({"nIStartsWith": "AL"}, but("a", "b")),
    ({"endsWith": "Öl"}, {"e"}),
    ({"endsWith": "öl"}, set()),
    ({"nEndsWith": "_score"}, but("d")),
    ({"iEndsWith": "öL"}, {"e"}),
    ({"iEndsWith": "SLASH"}, {"f"}),
    ({"nIEndsWith": "SLASH"}, but("f")),
    ({"range": ["A", "B"]}, {"a"}),
    ({"range": ["a", "b"]}, {"b"}),
    ({"range": ["alpha beta", "alpha beta"]}, {"b"}),
    ({"nRange": ["a", "b"]}, but("b")),
    ({"isNull": True}, {"g"}),
    ({"isNull": False}, but("g")),
    ({"nIsNull": True}, but("g")),
    ({"nIsNull": False}, {"g"}),
    ({"regex": "^[Aa]lph"}, {"a", "b"}),
    ({"nRegex": "^[Aa]lph"}, but("a", "b")),
    ({"iRegex": "^ALPH"}, {"a", "b"}),
    ({"iRegex": "äpfel"}, {"e"}),
    ({"nIRegex": "^ALPH"}, but("a", "b")),
]

# The LIKE wildcards and its escape character are plain text to contains/startsWith/...
WILDCARD_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"contains": "50%"}, {"c"}),
    ({"contains": "%"}, {"c"}),
    ({"contains": "5_%"}, set()),
    ({"contains": "_"}, {"d"}),
    ({"contains": "n_e"}, set()),
    ({"iContains": "R_S"}, {"d"}),
    ({"contains": "\\"}, {"f"}),
    ({"contains": "k\\s"}, {"f"}),
    ({"startsWith": "%"}, set()),
    ({"startsWith": "50%"}, {"c"}),
    ({"iStartsWith": "_"}, set()),
    ({"endsWith": "%"}, set()),
    ({"iEndsWith": "E_SCORE"}, set()),
    ({"nContains": "%"}, but("c")),
]

NUMBER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"exact": 5}, {"b"}),
    ({"exact": 0}, {"h"}),
    ({"nExact": 5}, but("b")),
    ({"iExact": 5}, {"b"}),
    ({"nIExact": 5}, but("b")),
    ({"contains": 1}, {"a", "c", "d"}),
    ({"nContains": 1}, but("a", "c", "d")),
    ({"iContains": 5}, {"b", "d"}),
    ({"nIContains": 5}, but("b", "d")),
    ({"inList": [1, 5, 99]}, {"a", "b"}),
    ({"inList": []}, set()),
    ({"nInList": [1, 5]}, but("a", "b")),
    ({"nInList": []}, set(ALL)),
    ({"gt": 5}, {"c", "d", "e", "i"}),
    ({"nGt": 5}, but("c", "d", "e", "i")),
    ({"gte": 5}, {"b", "c", "d", "e", "i"}),
    ({"nGte": 5}, but("b", "c", "d", "e", "i")),
    ({"lt": 0}, {"f"}),
    ({"nLt": 0}, but("f")),
    ({"lte": 0}, {"f", "h"}),
    ({"nLte": 0}, but("f", "h")),
    ({"startsWith": 1}, {"a", "c", "d"}),
    ({"startsWith": -3}, {"f"}),
    ({"nStartsWith": 1}, but("a", "c", "d")),
    ({"iStartsWith": 2}, {"e"}),
    ({"nIStartsWith": 2}, but("e")),
    ({"endsWith": 0}, {"c", "e", "h"}),
    ({"nEndsWith": 0}, but("c", "e", "h")),
    ({"iEndsWith": 5}, {"b", "d"}),
    ({"nIEndsWith": 5}, but("b", "d")),
    ({"range": [0, 10]}, {"a", "b", "c", "h", "i"}),
    ({"range": [10, 0]}, set()),
    ({"nRange": [0, 10]}, but("a", "b", "c", "h", "i")),
    ({"isNull": True}, {"g"}),
    ({"nIsNull": True}, but("g")),
    ({"regex": "^1"}, {"a", "c", "d"}),
    ({"regex": "^-"}, {"f"}),
    ({"nRegex": "^1"}, but("a", "c", "d")),
    ({"iRegex": "0$"}, {"c", "e", "h"}),
    ({"nIRegex": "0$"}, but("c", "e", "h")),
]

IDENT_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"exact": ident("a")}, {"a"}),
    ({"nExact": ident("a")}, but("a")),
    ({"iExact": ident("b")}, {"b"}),
    ({"nIExact": ident("b")}, but("b")),
    ({"contains": ident("c")}, {"c"}),
    ({"nContains": ident("c")}, but("c")),
    ({"iContains": ident("c")}, {"c"}),
    ({"nIContains": ident("c")}, but("c")),
    ({"inList": [ident("a"), ident("i")]}, {"a", "i"}),
    ({"inList": []}, set()),
    ({"nInList": [ident("a")]}, but("a")),
    ({"gt": ident("f")}, {"h", "i"}),
    ({"nGt": ident("f")}, but("h", "i")),
    ({"gte": ident("f")}, {"f", "h", "i"}),
    ({"nGte": ident("f")}, but("f", "h", "i")),
    ({"lt": ident("b")}, {"a"}),
    ({"nLt": ident("b")}, but("a")),
    ({"lte": ident("b")}, {"a", "b"}),
    ({"nLte": ident("b")}, but("a", "b")),
    ({"startsWith": ident("d")}, {"d"}),
    ({"nStartsWith": ident("d")}, but("d")),
    ({"iStartsWith": ident("d")}, {"d"}),
    ({"nIStartsWith": ident("d")}, but("d")),
    ({"endsWith": ident("e")}, {"e"}),
    ({"nEndsWith": ident("e")}, but("e")),
    ({"iEndsWith": ident("e")}, {"e"}),
    ({"nIEndsWith": ident("e")}, but("e")),
    ({"range": [ident("b"), ident("d")]}, {"b", "c", "d"}),
    ({"nRange": [ident("b"), ident("d")]}, but("b", "c", "d")),
    ({"isNull": True}, {"g"}),
    ({"isNull": False}, but("g")),
    ({"nIsNull": False}, {"g"}),
    ({"regex": "-0{7}1beef$"}, {"a"}),
    ({"regex": "BEEF$"}, set()),
    ({"nRegex": "1beef$"}, but("a")),
    ({"iRegex": "^0{8}-0{4}-4000-8000-0{7}[12]BEEF$"}, {"a", "b"}),
    ({"nIRegex": "[12]BEEF$"}, but("a", "b")),
]


def _ids(cases: list[tuple[dict[str, Any], set[str]]]) -> list[str]:
    return [repr(lookup) for lookup, _ in cases]


@on_db_loop
@pytest.mark.parametrize(("lookup", "expected"), NAME_CASES, ids=_ids(NAME_CASES))
async def test_text_lookup(db: str, lookup: dict[str, Any], expected: set[str]) -> None:
    assert await matching({"name": lookup}) == expected


@on_db_loop
@pytest.mark.parametrize(("lookup", "expected"), WILDCARD_CASES, ids=_ids(WILDCARD_CASES))
async def test_like_wildcards_match_literally(
    db: str, lookup: dict[str, Any], expected: set[str]
) -> None:
    assert await matching({"name": lookup}) == expected


@on_db_loop
@pytest.mark.parametrize(("lookup", "expected"), NUMBER_CASES, ids=_ids(NUMBER_CASES))
async def test_integer_lookup(db: str, lookup: dict[str, Any], expected: set[str]) -> None:
    assert await matching({"number": lookup}) == expected


@on_db_loop
@pytest.mark.parametrize(("lookup", "expected"), IDENT_CASES, ids=_ids(IDENT_CASES))
async def test_uuid_lookup(db: str, lookup: dict[str, Any], expected: set[str]) -> None:
    assert await matching({"ident": lookup}) == expected


def test_every_lookup_and_negation_is_exercised_on_each_type() -> None:
    for cases in (NAME_CASES, NUMBER_CASES, IDENT_CASES):
        assert {name for lookup, _ in cases for name in lookup} == {lk.wire for lk in LOOKUPS}
