"""How often a stream has entered each node: ``visits("Node name")`` in cells and doors.

Counts are keyed by node uuid (renaming a node keeps its count) and live on the
stream's own row (``Stream.node_visits``), so they last as long as the stream's
variables do. One engine run walks a stream at a time, so the run holds the
counts and writes them whole after each entry.
"""

from __future__ import annotations

from typing import Protocol

from models import Stream


class VisitLedger(Protocol):
    async def load(self) -> dict[str, int]: ...

    async def save(self, counts: dict[str, int]) -> None: ...


class StreamVisits:
    """Visit counts stored on the stream's row."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    async def load(self) -> dict[str, int]:
        rows = await Stream.filter(uuid=self.stream.uuid).values_list("node_visits", flat=True)
        stored = rows[0] if rows else None
        if not isinstance(stored, dict):
            return {}
        return {str(key): int(value) for key, value in stored.items() if isinstance(value, int)}

    async def save(self, counts: dict[str, int]) -> None:
        await Stream.filter(uuid=self.stream.uuid).update(node_visits=dict(counts))


class MemoryVisits:
    """Counts that live only as long as the object (dry runs)."""

    def __init__(self, stream: Stream | None = None) -> None:
        self.counts: dict[str, int] = {}

    async def load(self) -> dict[str, int]:
        return dict(self.counts)

    async def save(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
