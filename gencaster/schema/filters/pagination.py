"""Offset pagination of list fields (``OffsetPaginationInput``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import graphene

from gencaster.errors import BadUserInput

if TYPE_CHECKING:
    from tortoise.models import Model
    from tortoise.queryset import QuerySet

    ModelT = TypeVar("ModelT", bound=Model)


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
