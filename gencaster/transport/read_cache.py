"""Answers of graph reads kept as bytes, valid while the graph's version stands still.

The editor reads one whole graph again and again (``graph(pk)``); running it
builds thousands of fields, yet between two edits the answer is the same bytes.
An answer is kept under the exact request (query text, operation name,
variables), the caller's class (anonymous, user or staff: callers who may see
different data never share an entry) and the graphs it names, together with
the versions those graphs had *before* it was run. A later request first reads
the graphs' current versions (one small SELECT) and is served the kept bytes only
if they are equal.

Why that never serves a graph older than an acknowledged change: a change moves
its graph's version in its own transaction (``gencaster.graph_changes``) and is
acknowledged after that commit, so any read that starts later sees the new
version and misses entries made at the old one; and an entry was run after its
versions were read, so it shows at least every change they count. This holds
across processes and hosts, since the versions live in the database.

Only queries whose root fields are all ``graph`` are kept, and only answers
without errors; everything else runs as before.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from graphql import (
    DocumentNode,
    FieldNode,
    OperationType,
    StringValueNode,
    VariableNode,
    get_operation_ast,
)

# The root fields whose answer depends only on the graphs their ``pk`` names.
GRAPH_FIELDS = frozenset({"graph"})
# Counted with each entry besides its bytes: the key, the versions, the bookkeeping.
ENTRY_OVERHEAD = 256
MAX_KEY_CHARS = 20_000


@dataclass(frozen=True)
class ReadKey:
    """What a kept answer is for: the request's text, the caller's class, the graphs read."""

    request: str
    caller: str
    graphs: tuple[UUID, ...]

    @property
    def size(self) -> int:
        return len(self.request) + ENTRY_OVERHEAD


def caller_class(user: Any) -> str:
    """``anonymous``, ``user`` or ``staff``: what the permission rules tell apart."""
    if user is None:
        return "anonymous"
    if getattr(user, "is_staff", False) and getattr(user, "is_active", False):
        return "staff"
    return "user"


def read_key(
    document: DocumentNode,
    *,
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    caller: str,
) -> ReadKey | None:
    """The key of a graph read, or ``None`` when the request is not one to keep."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY:
        return None
    graphs = _graphs_read(operation.selection_set.selections, variables or {})
    if not graphs:
        return None
    try:
        shown_variables = json.dumps(variables or {}, sort_keys=True)
    except (TypeError, ValueError):
        return None
    request = "\x00".join((query, operation_name or "", shown_variables))
    if len(request) > MAX_KEY_CHARS:
        return None
    return ReadKey(request, caller, graphs)


def _graphs_read(selections: Sequence[Any], variables: Mapping[str, Any]) -> tuple[UUID, ...]:
    """The ``pk`` of every root field, when every root field is a graph read; else ``()``."""
    graphs: list[UUID] = []
    for selection in selections:
        if not isinstance(selection, FieldNode):
            return ()  # a fragment at the root may hold any field
        if selection.name.value == "__typename":
            continue
        if selection.name.value not in GRAPH_FIELDS:
            return ()
        pk = _pk_of(selection, variables)
        if pk is None:
            return ()
        graphs.append(pk)
    return tuple(dict.fromkeys(graphs))


def _pk_of(field: FieldNode, variables: Mapping[str, Any]) -> UUID | None:
    for argument in field.arguments:
        if argument.name.value != "pk":
            continue
        value = argument.value
        if isinstance(value, StringValueNode):
            text: Any = value.value
        elif isinstance(value, VariableNode):
            text = variables.get(value.name.value)
        else:
            return None
        try:
            return UUID(str(text))
        except ValueError:
            return None
    return None


class ReadCache:
    """Kept answers, least recently used out first once they pass ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[ReadKey, tuple[tuple[int, ...], bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: ReadKey, versions: tuple[int, ...]) -> bytes | None:
        """The kept answer, if it was made at exactly ``versions``."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != versions:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: ReadKey, versions: tuple[int, ...], body: bytes) -> None:
        """Keep ``body``, made after the graphs were seen at ``versions``."""
        cost = key.size + len(body)
        if cost > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = (versions, body)
        self.size += cost
        while self.size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: ReadKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= key.size + len(entry[1])
