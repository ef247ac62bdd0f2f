"""The seeded rows and a filter over them, shared by the tests of this folder."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import graphene
import pytest
from tortoise.expressions import Q

from gencaster.schema.filters import (
    FilterField,
    IntFilterLookup,
    StrFilterLookup,
    UUIDFilterLookup,
    filter_input,
    filter_to_q,
)
from tests.schema.filters.filter_models import FilterItem


def ident(key: str) -> uuid.UUID:
    """Row ``key``'s UUID, ordered like the keys: "a" ends in 1beef, "b" in 2beef, ..."""
    return uuid.UUID(f"00000000-0000-4000-8000-{ord(key) - ord('a') + 1:08x}beef")


# key: (name, number, flag); row "g" is all nulls (its UUID too).
ROWS: dict[str, tuple[str | None, int | None, bool]] = {
    "a": ("Alpha", 1, True),
    "b": ("alpha beta", 5, False),
    "c": ("50% off", 10, False),
    "d": ("under_score", 15, False),
    "e": ("Äpfel und Öl", 20, False),
    "f": ("back\\slash", -3, False),
    "g": (None, None, False),
    "h": ("", 0, False),
    "i": ("Grüße", 7, True),
}
ALL = frozenset(ROWS)

on_db_loop = pytest.mark.asyncio(loop_scope="session")
"""Mark for tests using ``db``: they must run on the loop that owns its connections."""


def but(*excluded: str) -> set[str]:
    return set(ALL - set(excluded))


ItemFilter = filter_input(
    "ItemFilter",
    {
        "name": FilterField(StrFilterLookup, "name"),
        "number": FilterField(IntFilterLookup, "number"),
        "ident": FilterField(UUIDFilterLookup, "ident"),
        "flag": FilterField(graphene.Boolean, "flag"),
    },
)


async def seed() -> None:
    for key, (name, number, flag) in ROWS.items():
        value = None if key == "g" else ident(key)
        await FilterItem.create(key=key, name=name, number=number, ident=value, flag=flag)


async def keys(q: Q) -> set[str]:
    return set(await FilterItem.filter(q).values_list("key", flat=True))


async def matching(value: Mapping[str, Any] | None) -> set[str]:
    """Keys of the rows an ``ItemFilter`` value selects."""
    return await keys(filter_to_q(value, ItemFilter))
