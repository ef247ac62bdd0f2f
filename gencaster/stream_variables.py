"""Stream variables: what listeners (over the API) and cells (in the engine) store per stream.

A domain service of its own, used by the schema, the engine and streaming alike.
Listeners set variables anonymously over plain HTTP: knowing the stream's uuid
(handed only to that stream's listeners) is the authorisation. So the number and
size of variables per stream are bounded, and values meant for SuperCollider
must be numbers with identifier keys: nothing a listener types reaches sclang as code.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gencaster.distributor import GenCasterChannel
from gencaster.errors import BadUserInput, NotFound
from models import Stream, StreamVariable

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

SendToSc = Callable[[Stream, str, float], Awaitable[None]]


@dataclass(frozen=True)
class VariableLimits:
    max_per_stream: int = 200
    max_key_length: int = 255
    max_value_bytes: int = 4096


def sc_number(key: str, value: str) -> float:
    """The number a variable sends to SuperCollider; refuses anything else."""
    if not IDENTIFIER.match(key):
        raise BadUserInput(f"{key!r} is not a plain identifier, so it cannot go to SuperCollider")
    try:
        number = float(value)
    except ValueError as exc:
        raise BadUserInput(f"The value of {key!r} must be a number to go to SuperCollider") from exc
    if not math.isfinite(number):
        raise BadUserInput(f"The value of {key!r} must be a finite number")
    return number


def check_variable(key: str, value: str, limits: VariableLimits) -> None:
    """Refuse a key or a value (as text) over the limits, with ``BadUserInput``."""
    if not key or len(key) > limits.max_key_length:
        raise BadUserInput(f"A variable key needs 1 to {limits.max_key_length} characters")
    if len(value.encode()) > limits.max_value_bytes:
        raise BadUserInput(f"The value of {key!r} is larger than {limits.max_value_bytes} bytes")


async def upsert_stream_variables(
    inputs: Sequence[Mapping[str, Any]],
    *,
    limits: VariableLimits,
    channel: GenCasterChannel,
    send_to_sc: SendToSc | None = None,
) -> list[StreamVariable]:
    """Create or update each (stream, key); all or nothing; engines hear of it after.

    A stream that has ended still stores values (its listener's last answers), but
    they reach SuperCollider only while the stream has listeners: its point may play
    someone else's stream by then.
    """
    checked = []
    for data in inputs:
        key, value = data["key"], data["value"]
        check_variable(key, value, limits)
        number = sc_number(key, value) if data.get("stream_to_sc") else None
        checked.append((data, number))
    streams: dict[Any, Stream] = {}
    saved = []
    async with in_transaction():
        for data, _ in checked:
            stream = streams.get(data["stream_uuid"]) or await _stream(data["stream_uuid"])
            streams[data["stream_uuid"]] = stream
            saved.append(await _upsert(stream, data, limits))
    for variable in saved:
        await channel.publish_stream_variable_update(variable.stream_id, variable.key)
    if send_to_sc is not None:
        for (data, number), variable in zip(checked, saved, strict=True):
            if number is not None and streams[data["stream_uuid"]].num_listeners > 0:
                await send_to_sc(streams[data["stream_uuid"]], variable.key, number)
    return saved


async def _stream(stream_uuid: Any) -> Stream:
    stream = await Stream.get_or_none(uuid=stream_uuid)
    if stream is None:
        raise NotFound(f"No stream with uuid {stream_uuid}")
    return stream


async def _upsert(
    stream: Stream, data: Mapping[str, Any], limits: VariableLimits
) -> StreamVariable:
    variable = (
        await StreamVariable.filter(stream=stream, key=data["key"]).select_for_update().first()
    )
    if variable is None:
        if await StreamVariable.filter(stream=stream).count() >= limits.max_per_stream:
            raise BadUserInput(f"A stream holds at most {limits.max_per_stream} variables")
        try:
            # A savepoint: when another listener created the key meanwhile, only this
            # insert is undone and the value is written as an update instead.
            async with in_transaction():
                return await StreamVariable.create(
                    stream=stream,
                    key=data["key"],
                    value=data["value"],
                    stream_to_sc=data["stream_to_sc"],
                )
        except IntegrityError:
            variable = await StreamVariable.get(stream=stream, key=data["key"])
    variable.value = data["value"]
    variable.stream_to_sc = data["stream_to_sc"]
    await variable.save(update_fields=["value", "stream_to_sc", "modified_date"])
    return variable


class StreamVariableService:
    """Stream variables for every caller: listeners' upserts and each engine's view.

    ``send_to_sc`` forwards ``streamToSc`` values to the stream's point; it is the
    streaming layer's, and absent where no stream points are reached (tests, tools).
    """

    def __init__(
        self,
        *,
        channel: GenCasterChannel,
        limits: VariableLimits,
        send_to_sc: SendToSc | None = None,
    ) -> None:
        self.channel = channel
        self.limits = limits
        self.send_to_sc = send_to_sc

    async def upsert(self, inputs: Sequence[Mapping[str, Any]]) -> list[StreamVariable]:
        return await upsert_stream_variables(
            inputs, limits=self.limits, channel=self.channel, send_to_sc=self.send_to_sc
        )

    def of(self, stream: Stream) -> StreamVariables:
        """The engine's view of one stream's variables."""
        return StreamVariables(stream, channel=self.channel, limits=self.limits)


class StreamVariables:
    """A stream's variables as the engine sees them: load, wait for one, save changes."""

    def __init__(
        self, stream: Stream, *, channel: GenCasterChannel, limits: VariableLimits
    ) -> None:
        self.stream = stream
        self.channel = channel
        self.limits = limits

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
                        if update.is_resync or update.data.get("key") == name:
                            # After a broker outage the message may be lost: look again.
                            value = await self._value(name)
                            if value is not None:
                                return value
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


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
