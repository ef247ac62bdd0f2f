"""OffsetPaginationInput applied to a queryset: offset, limit, -1 meaning all."""

from __future__ import annotations

from typing import Any

import pytest

from gencaster.errors import BadUserInput
from gencaster.schema.filters import apply_pagination
from tests.schema.filters.filter_models import FilterItem
from tests.schema.filters.support import on_db_loop

ORDERED = list("abcdefghi")


@on_db_loop
@pytest.mark.parametrize(
    ("pagination", "expected"),
    [
        (None, ORDERED),
        ({}, ORDERED),
        ({"offset": 0, "limit": -1}, ORDERED),
        ({"offset": 2, "limit": 3}, ["c", "d", "e"]),
        ({"offset": 7, "limit": -1}, ["h", "i"]),
        ({"offset": 7}, ["h", "i"]),
        ({"limit": 2}, ["a", "b"]),
        ({"offset": 0, "limit": 0}, []),
        ({"offset": 100, "limit": -1}, []),
        ({"offset": 8, "limit": 100}, ["i"]),
    ],
)
async def test_pagination_window(
    db: str, pagination: dict[str, Any] | None, expected: list[str]
) -> None:
    query = apply_pagination(FilterItem.all().order_by("key"), pagination)
    assert await query.values_list("key", flat=True) == expected


@on_db_loop
async def test_pagination_composes_with_filters(db: str) -> None:
    query = FilterItem.filter(number__gte=0).order_by("-number")
    paged = apply_pagination(query, {"offset": 1, "limit": 2})
    assert await paged.values_list("key", flat=True) == ["d", "c"]


@on_db_loop
@pytest.mark.parametrize(
    "pagination",
    [{"offset": -1, "limit": -1}, {"offset": 0, "limit": -2}, {"offset": -5}],
)
async def test_negative_offset_or_limit_below_minus_one_is_bad_user_input(
    db: str, pagination: dict[str, Any]
) -> None:
    with pytest.raises(BadUserInput):
        apply_pagination(FilterItem.all(), pagination)


@on_db_loop
@pytest.mark.parametrize("read", ["objects", "values", "values_list", "count"])
async def test_limit_zero_is_empty_however_the_rows_are_read(db: str, read: str) -> None:
    query = apply_pagination(FilterItem.all(), {"offset": 0, "limit": 0})
    results = {
        "objects": lambda: query,
        "values": lambda: query.values("key"),
        "values_list": lambda: query.values_list("key", flat=True),
        "count": lambda: query.count(),
    }
    assert not await results[read]()
