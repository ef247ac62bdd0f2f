"""strawberry-django-shaped filters and pagination (API.md), on Tortoise.

``inputs`` declares the GraphQL inputs, ``translate`` turns their values into Tortoise
``Q`` objects and ``pagination`` windows a list. What SQLite needs to run the lookups
as PostgreSQL does lives with the database code, in ``gencaster.sqlite``.
"""

from gencaster.schema.filters.inputs import (
    LOOKUPS,
    MAX_FILTER_DEPTH,
    AudioFileFilter,
    FilterField,
    FilterInput,
    GraphFilter,
    IntFilterLookup,
    Lookup,
    LookupInput,
    StreamPointFilter,
    StrFilterLookup,
    UUIDFilterLookup,
    filter_input,
    lookup_input,
)
from gencaster.schema.filters.pagination import OffsetPaginationInput, apply_pagination
from gencaster.schema.filters.translate import (
    MAX_REGEX_LENGTH,
    check_regex,
    filter_to_q,
    lookup_q,
    translate_filter_errors,
    uses_regex,
)

__all__ = [
    "LOOKUPS",
    "MAX_FILTER_DEPTH",
    "MAX_REGEX_LENGTH",
    "AudioFileFilter",
    "FilterField",
    "FilterInput",
    "GraphFilter",
    "IntFilterLookup",
    "Lookup",
    "LookupInput",
    "OffsetPaginationInput",
    "StrFilterLookup",
    "StreamPointFilter",
    "UUIDFilterLookup",
    "apply_pagination",
    "check_regex",
    "filter_input",
    "filter_to_q",
    "lookup_input",
    "lookup_q",
    "translate_filter_errors",
    "uses_regex",
]
