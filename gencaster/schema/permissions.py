"""The staff rule, applied in one place to every root field that API.md marks staff.

``protect_staff_fields`` wraps the resolver (and, for subscriptions, the source
stream) of each listed field once, when the schema is built; resolvers themselves
never check. The same wrapped schema serves HTTP and WebSocket, so the rule holds
on both. A refused call raises before the resolver runs, so nothing changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from gencaster.errors import Forbidden, Unauthenticated
from gencaster.schema.context import GraphQLContext

PUBLIC_FIELDS: dict[str, frozenset[str]] = {
    "Query": frozenset({"graphs", "streamPoints", "streamPoint", "isAuthenticated"}),
    "Mutation": frozenset({"authLogin", "authLogout", "createUpdateStreamVariable"}),
    "Subscription": frozenset({"streamInfo"}),
}


def staff_fields(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """Every (root type, field) pair that needs a staff user: all but the public ones."""
    pairs: list[tuple[str, str]] = []
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is None:
            continue
        public = PUBLIC_FIELDS.get(root.name, frozenset())
        pairs.extend((root.name, name) for name in root.fields if name not in public)
    return pairs


def _check(info: GraphQLResolveInfo) -> None:
    context = info.context
    if not isinstance(context, GraphQLContext):  # fail closed on anything else
        raise Unauthenticated()
    if context.is_staff:
        return
    if context.user is not None:
        raise Forbidden("This needs a staff user")
    raise Unauthenticated()


def _guard_resolver(resolve: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(resolve)
    def guarded(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        _check(info)
        return resolve(root, info, **kwargs)

    return guarded


def _default_resolver(name: str) -> Callable[..., Any]:
    def resolve(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        return root

    resolve.__name__ = f"resolve_{name}"
    return resolve


def protect_staff_fields(schema: GraphQLSchema) -> None:
    for type_name, field_name in staff_fields(schema):
        field = schema.get_type(type_name).fields[field_name]  # type: ignore[union-attr]
        if type_name == "Subscription":
            if field.subscribe is not None:
                # Checked when the stream is created, so a refusal is the operation's error.
                field.subscribe = _guard_resolver(field.subscribe)
            continue
        field.resolve = _guard_resolver(field.resolve or _default_resolver(field_name))
