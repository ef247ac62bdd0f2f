"""What one GraphQL operation may cost, measured on the document before it runs.

Types refer to each other in cycles (``Node → NodeDoor → Node``), so the work of a
query can grow exponentially with its depth. Every operation is measured here first
(depth, aliases, field selections, root fields, and an estimated cost that multiplies
list fields by their page size) and refused with ``BAD_USER_INPUT`` past any limit.
Fragments are measured once each and counted wherever they are spread, so spreading
one fragment many times costs what the expanded query would. Introspection fields
count like any others.

A ``CostBudget`` bounds the total a connection may spend: a bucket that refills at a
steady rate, so a burst of operations is allowed but a flood is refused with
``TOO_MANY_REQUESTS``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_introspection_type,
)
from graphql.type import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from gencaster.transport.arguments import DEFAULT_MAX_TEXT_CHARS

__all__ = [
    "CostBudget",
    "Measure",
    "QueryLimits",
    "check_limits",
    "limits_rule",
    "measure_operation",
]

# Introspection reads the schema in memory; a field there costs a fraction of one that
# may read the database.
INTROSPECTION_WEIGHT = 0.05
# Arguments that bound how many items a list field returns.
_SIZE_ARGUMENTS = ("first", "last", "limit")
_PAGINATION_ARGUMENT = "pagination"


@dataclass(frozen=True, kw_only=True)
class QueryLimits:
    """The most one operation may ask for; see the README's settings table."""

    max_depth: int = 16
    max_aliases: int = 30
    max_fields: int = 1000
    max_root_fields: int = 20
    max_cost: int = 50_000
    # Items a list field is assumed to return when no argument says how many.
    list_size: int = 10
    max_tokens: int = 10_000
    # Free text without a column bound (code, markdown), checked by transport/arguments.py.
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS


@dataclass(frozen=True)
class Measure:
    """The size of a selection: deepest path, aliases, selected fields, estimated cost."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: float = 0.0

    def __add__(self, other: Measure) -> Measure:
        return Measure(
            depth=max(self.depth, other.depth),
            aliases=self.aliases + other.aliases,
            fields=self.fields + other.fields,
            cost=self.cost + other.cost,
        )


class _Measurer:
    """Walks one operation; each fragment is measured once per type and then reused."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.list_size = list_size
        self._memo: dict[str, Measure] = {}
        self._visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLNamedType) -> Measure:
        total = Measure()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total = total + self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                total = total + self.selection_set(
                    selection.selection_set, self._condition(selection, parent)
                )
            elif isinstance(selection, FragmentSpreadNode):
                total = total + self.spread(selection.name.value)
        return total

    def spread(self, name: str) -> Measure:
        if name in self._memo:
            return self._memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._visiting:
            return Measure()  # unknown fragments and cycles are the validator's to report
        self._visiting.add(name)
        try:
            parent = self.schema.get_type(fragment.type_condition.name.value)
            measure = self.selection_set(fragment.selection_set, parent) if parent else Measure()
        finally:
            self._visiting.discard(name)
        self._memo[name] = measure
        return measure

    def _condition(self, node: InlineFragmentNode, parent: GraphQLNamedType) -> GraphQLNamedType:
        if node.type_condition is None:
            return parent
        return self.schema.get_type(node.type_condition.name.value) or parent

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> Measure:
        definition = _field_definition(self.schema, parent, node.name.value)
        alias = 1 if node.alias and node.alias.value != node.name.value else 0
        if definition is None:
            return Measure(depth=1, aliases=alias, fields=1, cost=1.0)
        child = Measure()
        if node.selection_set is not None:
            child = self.selection_set(node.selection_set, get_named_type(definition.type))
        items = self.items(node, definition, parent)
        own = INTROSPECTION_WEIGHT if is_introspection_type(parent) else 1.0
        return Measure(
            depth=1 + child.depth,
            aliases=alias + child.aliases,
            fields=1 + child.fields,
            cost=own + items * child.cost,
        )

    def items(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType) -> int:
        """How many children a field is taken to resolve: 1, or a page size per list level."""
        if is_introspection_type(parent) or node.name.value == "__schema":
            # The schema is static: its lists are as long as the schema says, at most.
            return _introspection_sizes(self.schema).get(node.name.value, 1)
        kind = definition.type
        levels = 0
        while isinstance(kind, GraphQLNonNull | GraphQLList):
            levels += isinstance(kind, GraphQLList)
            kind = kind.of_type
        if not levels:
            return 1
        return self.page_size(node, definition) * self.list_size ** (levels - 1)

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        for name in _SIZE_ARGUMENTS:
            if name in given:
                return self._size(self._value(given[name]))
            argument = definition.args.get(name)
            if argument is not None and isinstance(argument.default_value, int):
                return self._size(argument.default_value)
        pagination = given.get(_PAGINATION_ARGUMENT)
        if isinstance(pagination, ObjectValueNode):
            for item in pagination.fields:
                if item.name.value == "limit":
                    return self._size(self._value(item.value))
        elif isinstance(pagination, VariableNode):
            value = self.variables.get(pagination.name.value)
            if isinstance(value, dict):
                return self._size(value.get("limit"))
        return self.list_size

    def _value(self, node: Any) -> Any:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return None

    def _size(self, value: Any) -> int:
        """A positive page size as asked for; anything else ("all", unknown) as the default."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return self.list_size


# isinstance, not graphql-core's is_* helpers: those do not narrow for a type checker.
_WITH_FIELDS = (GraphQLObjectType, GraphQLInterfaceType)
_ABSTRACT = (GraphQLInterfaceType, GraphQLUnionType)


@lru_cache(maxsize=8)
def _introspection_sizes(schema: GraphQLSchema) -> dict[str, int]:
    """The longest each introspection list can be in ``schema``."""
    types = list(schema.type_map.values())
    with_fields = [kind for kind in types if hasattr(kind, "fields")]
    outputs = [kind for kind in with_fields if isinstance(kind, _WITH_FIELDS)]
    arguments = [len(field.args) for kind in outputs for field in kind.fields.values()]
    arguments += [len(directive.args) for directive in schema.directives]
    return {
        "types": len(types),
        "directives": len(schema.directives),
        "fields": max((len(kind.fields) for kind in with_fields), default=0),
        "inputFields": max((len(kind.fields) for kind in with_fields), default=0),
        "args": max(arguments, default=0),
        "enumValues": max(
            (len(kind.values) for kind in types if isinstance(kind, GraphQLEnumType)), default=0
        ),
        "interfaces": max((len(kind.interfaces) for kind in outputs), default=0),
        "possibleTypes": max(
            (len(schema.get_possible_types(kind)) for kind in types if isinstance(kind, _ABSTRACT)),
            default=0,
        ),
        "locations": 1,  # a list of enum values: leaves, no children to multiply
    }


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType, name: str
) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name == "__schema":
        return SchemaMetaFieldDef
    if parent is schema.query_type and name == "__type":
        return TypeMetaFieldDef
    if isinstance(parent, _WITH_FIELDS):
        return parent.fields.get(name)
    return None


def _root_type(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType:
    root = schema.get_root_type(operation.operation)
    if root is None:
        raise GraphQLError(
            f"The schema has no {operation.operation.value} type",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return root


def measure_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    *,
    variables: dict[str, Any] | None = None,
    list_size: int = QueryLimits.list_size,
) -> tuple[Measure, int]:
    """The operation's measure and its number of root fields (fragments expanded)."""
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    measurer = _Measurer(schema, fragments, variables or {}, list_size)
    root = _root_type(schema, operation)
    measure = measurer.selection_set(operation.selection_set, root)
    return measure, _root_fields(operation.selection_set, fragments, set())


def _root_fields(
    node: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> int:
    count = 0
    for selection in node.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                seen.add(fragment.name.value)
                count += _root_fields(fragment.selection_set, fragments, seen)
    return count


def limit_errors(
    limits: QueryLimits, measure: Measure, root_fields: int
) -> list[tuple[str, int, int]]:
    """``(limit name, allowed, asked)`` for every limit the operation exceeds."""
    checks = (
        ("depth", limits.max_depth, measure.depth),
        ("aliases", limits.max_aliases, measure.aliases),
        ("fields", limits.max_fields, measure.fields),
        ("rootFields", limits.max_root_fields, root_fields),
        ("cost", limits.max_cost, math.ceil(measure.cost)),
    )
    return [(name, allowed, int(asked)) for name, allowed, asked in checks if asked > allowed]


def limits_rule(
    limits: QueryLimits,
    variables: dict[str, Any] | None = None,
    costs: dict[str | None, int] | None = None,
) -> type[ValidationRule]:
    """A graphql-core validation rule that refuses operations past ``limits``.

    Variables are not part of validation, so the rule is made per request to let page
    sizes given as variables count. ``costs`` receives each operation's estimated cost
    by name, for a ``CostBudget``.
    """

    class QueryLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_document(self, node: DocumentNode, *_: Any) -> bool:
            errors, measured = check_limits(self.context.schema, node, limits, variables)
            if costs is not None:
                costs.update(measured)
            for error in errors:
                self.report_error(error)
            return False  # the measure has seen the whole document

    return QueryLimitsRule


class _ReadVariables(dict[str, Any]):
    """The request's variables, noting which of them the measure reads (page sizes)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


# Measuring walks every field of the document, on every request. A measure that read no
# variable holds for every request of the same document (the parse cache hands out the
# same object), so it is kept; entries hold their document, so an id is never reused.
_MEASURED: OrderedDict[
    tuple[int, int, QueryLimits],
    tuple[DocumentNode, list[GraphQLError], dict[str | None, int]],
] = OrderedDict()
_MEASURED_SIZE = 512


def check_limits(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: QueryLimits,
    variables: dict[str, Any] | None = None,
) -> tuple[list[GraphQLError], dict[str | None, int]]:
    """Errors for every operation of ``document`` past ``limits``, and each one's cost.

    The same check as ``limits_rule``, without a validation pass around it: the
    transports call this on every request, before the (cached) standard validation.
    """
    key = (id(schema), id(document), limits)
    kept = _MEASURED.get(key)
    if kept is not None:
        _MEASURED.move_to_end(key)
        return list(kept[1]), dict(kept[2])
    recording = _ReadVariables(variables or {})
    errors, costs = _measure_document(schema, document, limits, recording)
    if not recording.read:
        _MEASURED[key] = (document, list(errors), dict(costs))
        while len(_MEASURED) > _MEASURED_SIZE:
            _MEASURED.popitem(last=False)
    return errors, costs


def _measure_document(
    schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits, variables: dict[str, Any]
) -> tuple[list[GraphQLError], dict[str | None, int]]:
    errors: list[GraphQLError] = []
    costs: dict[str | None, int] = {}
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        if schema.get_root_type(node.operation) is None:
            continue
        measure, root_fields = measure_operation(
            schema, document, node, variables=variables, list_size=limits.list_size
        )
        costs[node.name.value if node.name else None] = math.ceil(measure.cost)
        for name, allowed, asked in limit_errors(limits, measure, root_fields):
            errors.append(_limit_error(node, name, allowed, asked))
    return errors, costs


def _limit_error(
    node: OperationDefinitionNode, name: str, allowed: int, asked: int
) -> GraphQLError:
    label = f"Operation {node.name.value!r}" if node.name else "The operation"
    return GraphQLError(
        f"{label} is too large: its {name} is {asked}, at most {allowed} is allowed",
        node,
        extensions={"code": "BAD_USER_INPUT", "limit": name, "allowed": allowed, "asked": asked},
    )


class CostBudget:
    """What one connection may spend: ``capacity`` at once, refilled at ``rate`` per second."""

    def __init__(self, *, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._level = capacity
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def refund(self, cost: float) -> None:
        """Give back part of a ``spend`` whose work turned out not to be needed."""
        self._refill()
        self._level = min(self.capacity, self._level + max(0.0, cost))

    def spend(self, cost: int) -> float:
        """Take ``cost``; returns 0, or the seconds until it could be afforded (nothing taken)."""
        self._refill()
        if cost <= self._level:
            self._level -= cost
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (min(cost, self.capacity) - self._level) / self.rate
