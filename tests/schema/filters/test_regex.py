"""Regular expressions on both databases: null handling, invalid patterns, dialect gaps."""

from __future__ import annotations

import pytest
from tortoise.exceptions import OperationalError

from gencaster.errors import BadUserInput
from gencaster.schema.filters import check_regex, filter_to_q, translate_filter_errors
from tests.schema.filters.filter_models import FilterItem
from tests.schema.filters.support import ItemFilter, but, matching, on_db_loop


@on_db_loop
async def test_null_never_matches_a_regex_but_matches_its_negation(db: str) -> None:
    assert await matching({"name": {"regex": "^$"}}) == {"h"}
    assert await matching({"name": {"iRegex": ".*"}}) == but("g")
    assert await matching({"name": {"nRegex": "^$"}}) == but("h")
    assert await matching({"name": {"nIRegex": ".*"}}) == {"g"}


@on_db_loop
async def test_regex_searches_anywhere_and_understands_classes(db: str) -> None:
    assert await matching({"name": {"regex": r"\d+% "}}) == {"c"}
    assert await matching({"name": {"regex": r"\\"}}) == {"f"}
    assert await matching({"name": {"regex": "a b|^G"}}) == {"b", "i"}
    assert await matching({"name": {"regex": "e"}}) == {"b", "d", "e", "i"}


@on_db_loop
async def test_regex_is_case_sensitive_and_iregex_is_not(db: str) -> None:
    assert await matching({"name": {"regex": "öl"}}) == set()
    assert await matching({"name": {"iRegex": "öl"}}) == {"e"}
    assert await matching({"name": {"iRegex": "GRÜ"}}) == {"i"}


@pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "*a", "(?i", r"\y"])
@pytest.mark.parametrize("lookup", ["regex", "iRegex", "nRegex", "nIRegex"])
def test_invalid_regex_is_bad_user_input(lookup: str, pattern: str) -> None:
    with pytest.raises(BadUserInput, match="Invalid regular expression"):
        filter_to_q({"name": {lookup: pattern}}, ItemFilter)


def test_check_regex_accepts_valid_patterns() -> None:
    for pattern in ["", "^a.*b$", r"\d{2,3}", "(?:x|y)+", "[[:alpha:]]"]:
        check_regex(pattern)


@on_db_loop
async def test_pattern_postgresql_refuses_is_bad_user_input_there(db: str) -> None:
    # Python reads (?P<x>...) as a named group; PostgreSQL refuses it at query time.
    query = FilterItem.filter(filter_to_q({"name": {"regex": "(?P<x>lph)"}}, ItemFilter))
    if db == "sqlite":
        with translate_filter_errors():
            assert {item.key for item in await query} == {"a", "b"}
        return
    with pytest.raises(BadUserInput, match="invalid embedded option"), translate_filter_errors():
        await query


@on_db_loop
async def test_other_database_errors_pass_through(db: str) -> None:
    client = FilterItem._meta.db
    with pytest.raises(OperationalError), translate_filter_errors():
        await client.execute_query("SELECT no_such_column FROM schema_filters_item")
