"""A stream's variables as the engine sees them: load, wait for one, save changes."""

from __future__ import annotations

import asyncio
from typing import Any

from gencaster.distributor import GenCasterChannel
from gencaster.streaming.variables import VariableLimits, upsert_stream_variables
from models import Stream, StreamVariable


class StreamVariables:
    def __init__(
        self, stream: Stream, *, channel: GenCasterChannel, limits: VariableLimits
    ) -> None:
        self.stream = stream
        self.channel = channel
        self.limits = limits
        self._tasks: set[asyncio.Task[Any]] = set()

    async def load(self) -> dict[str, str]:
        """The stream's variables now (listeners may change them at any time)."""
        rows = await StreamVariable.filter(stream_id=self.stream.uuid).values_list("key", "value")
        return dict(rows)

    async def wait_for(self, name: str, timeout: float = 60.0) -> str | None:
        """The variable's value once it exists; ``None`` after ``timeout`` seconds."""
        channel_name = self.channel.stream_variables_channel(self.stream.uuid)
        async with self.channel.subscribe(channel_name) as updates:
            # Listen first, then look: a value set in between is not missed.
            current = await self._value(name)
            if current is not None:
                return current
            try:
                async with asyncio.timeout(timeout):
                    async for update in updates:
                        if update.data.get("key") == name:
                            return await self._value(name)
            except TimeoutError:
                return None
        return None

    async def _value(self, name: str) -> str | None:
        row = await StreamVariable.get_or_none(stream_id=self.stream.uuid, key=name)
        return None if row is None else row.value

    async def save_changes(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Store new and changed entries as text (removed entries are left alone)."""
        changed = [
            {
                "stream_uuid": self.stream.uuid,
                "key": str(key),
                "value": _text(value),
                "stream_to_sc": False,
            }
            for key, value in after.items()
            if key not in before or _text(before[key]) != _text(value)
        ]
        if changed:
            await upsert_stream_variables(changed, limits=self.limits, channel=self.channel)

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a fire-and-forget task (e.g. a print to the log) until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
