"""Changing a story graph: one transaction that also moves the graph's version, then the news.

Every write to a graph or to anything a read of it shows (nodes, doors, edges,
script cells, audio cells, the audio files they play) runs inside ``graph_change``
and names the graphs it touched. When the block ends, each touched graph's
``version`` is incremented in the same transaction, so a reader who sees the new
version sees the change too; the update messages go out only after the commit.
A cached read (``gencaster.transport.read_cache``) is valid while the version it
was made at is still the graph's version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from gencaster.distributor import GenCasterChannel
from gencaster.errors import NotFound
from models import Graph


@dataclass
class GraphChange:
    """The graphs (and, per graph, the nodes) one change touched, in the order named."""

    touched: dict[UUID, dict[UUID, None]] = field(default_factory=dict)

    def touch(self, graph_uuid: UUID, *node_uuids: UUID) -> None:
        """Record that ``graph_uuid`` (and ``node_uuids`` in it) changed."""
        nodes = self.touched.setdefault(graph_uuid, {})
        nodes.update(dict.fromkeys(node_uuids))

    async def publish(self, channel: GenCasterChannel) -> None:
        for graph_uuid, nodes in self.touched.items():
            await channel.publish_nodes_update(graph_uuid, *nodes)


async def bump_versions(graph_uuids: Iterable[UUID]) -> None:
    """``version = version + 1`` in SQL (no read-modify-write), in the caller's transaction."""
    # One statement per graph, in one order for every writer: a change that touches
    # several graphs (an audio file they all play) never waits for another in a circle.
    for uuid in sorted(set(graph_uuids)):
        await Graph.filter(uuid=uuid).update(version=F("version") + 1)


@asynccontextmanager
async def graph_change(channel: GenCasterChannel | None) -> AsyncIterator[GraphChange]:
    """A transaction for writes to graphs; the block calls ``touch`` for what it changed.

    On leaving the block the touched graphs' versions move and the transaction
    commits; then, with a ``channel``, the update messages are published. An
    exception rolls everything back and publishes nothing; a row the change refers
    to that another editor deleted meanwhile (a foreign key that no longer holds)
    is ``NotFound``, not an internal error.
    """
    change = GraphChange()
    try:
        async with in_transaction():
            yield change
            await bump_versions(change.touched)
    except IntegrityError as exc:
        if "foreign key" in str(exc).lower():
            # Read before the transaction, deleted by another editor since.
            raise NotFound("What this change refers to was deleted meanwhile") from exc
        raise
    if channel is not None:
        await change.publish(channel)


async def graph_versions(graph_uuids: Iterable[UUID]) -> dict[UUID, int]:
    """The current version of each graph that exists (one SELECT); absent graphs are left out.

    Asked before every kept graph read, so the statement is written out rather than
    built by the query builder each time.
    """
    uuids = [str(uuid) for uuid in dict.fromkeys(graph_uuids)]
    if not uuids:
        return {}
    client = Graph._meta.db
    postgres = client.capabilities.dialect == "postgres"
    marks = ", ".join(f"${index}" if postgres else "?" for index in range(1, len(uuids) + 1))
    rows = await client.execute_query_dict(
        f'SELECT "uuid", "version" FROM "graph" WHERE "uuid" IN ({marks})', uuids
    )
    return {UUID(str(row["uuid"])): int(row["version"]) for row in rows}
