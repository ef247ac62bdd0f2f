"""The Gencaster GraphQL schema, built once with the staff rule applied."""

from __future__ import annotations

import graphene

from gencaster.schema import types
from gencaster.schema.limits import apply_text_limits
from gencaster.schema.mutations import Mutation
from gencaster.schema.permissions import protect_staff_fields
from gencaster.schema.queries import Query
from gencaster.schema.subscriptions import Subscription


def build_schema() -> graphene.Schema:
    built = graphene.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[types.Text, types.Input, types.Checkbox, types.Button],
    )
    protect_staff_fields(built.graphql_schema)
    apply_text_limits(built.graphql_schema)
    return built


schema = build_schema()

__all__ = ["build_schema", "schema"]
