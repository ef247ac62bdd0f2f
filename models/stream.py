"""Streaming: SuperCollider stream points, the streams listeners hear, and what they log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models.base import TimestampedModel, UUIDModel


class InstructionState(StrEnum):
    """States only move forward, in this order (see OSC.md)."""

    UNACKNOWLEDGED = "UNACKNOWLEDGED"
    SENT = "SENT"
    RECEIVED = "RECEIVED"
    READY = "READY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    FINISHED = "FINISHED"


INSTRUCTION_STATE_RANK = {state: rank for rank, state in enumerate(InstructionState)}


class LogLevel(IntEnum):
    NOTSET = 0
    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


class StreamPoint(TimestampedModel):
    """A SuperCollider instance, keyed by where it receives instructions."""

    host = fields.CharField(max_length=255)
    port = fields.IntField()
    name = fields.CharField(max_length=255, default="")
    use_input = fields.BooleanField(default=False)
    janus_in_port = fields.IntField(null=True)
    janus_out_port = fields.IntField(null=True)
    janus_in_room = fields.IntField(null=True)
    janus_out_room = fields.IntField(null=True)
    janus_public_ip = fields.CharField(max_length=255, null=True)
    last_live = fields.DatetimeField(null=True)

    class Meta:
        table = "stream_point"
        unique_together = (("host", "port"),)

    @staticmethod
    def live_since(beacon_window_s: float) -> datetime:
        """A point is live while its last beacon is younger than the beacon window."""
        return datetime.now(UTC) - timedelta(seconds=beacon_window_s)

    @classmethod
    def live(cls, beacon_window_s: float) -> QuerySet[StreamPoint]:
        return cls.filter(last_live__gte=cls.live_since(beacon_window_s))

    def seconds_left_live(self, beacon_window_s: float) -> float:
        """How long this point still counts as live; 0 or less: it is not live."""
        if self.last_live is None:
            return 0.0
        return (self.last_live - self.live_since(beacon_window_s)).total_seconds()

    @classmethod
    def free_live(cls, beacon_window_s: float) -> QuerySet[StreamPoint]:
        """Live points with no stream that has listeners on them."""
        busy = Stream.listened().values("stream_point_id")
        return cls.live(beacon_window_s).exclude(uuid__in=Subquery(busy))


class Stream(TimestampedModel):
    """A stream point assigned to the listeners of a graph."""

    stream_point: fields.ForeignKeyRelation[StreamPoint] = fields.ForeignKeyField(
        "models.StreamPoint", related_name="streams", on_delete=fields.CASCADE
    )
    stream_point_id: UUID  # the column behind ``stream_point``, for type checkers
    graph: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Graph", related_name="streams", on_delete=fields.CASCADE
    )
    num_listeners = fields.IntField(default=0)
    # Entries per node uuid, for ``visits("Node name")`` (gencaster.engine.visits).
    node_visits: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "stream"
        ordering = ["-created_date"]

    @classmethod
    def listened(cls) -> QuerySet[Stream]:
        """Streams with at least one listener; a point carrying one is busy."""
        return cls.filter(num_listeners__gt=0)

    @classmethod
    def newest(cls, limit: int) -> QuerySet[Stream]:
        """The ``limit`` streams created last, newest first."""
        return cls.all().order_by("-created_date").limit(limit)


class StreamVariable(TimestampedModel):
    stream: fields.ForeignKeyRelation[Stream] = fields.ForeignKeyField(
        "models.Stream", related_name="variables", on_delete=fields.CASCADE
    )
    stream_id: UUID
    key = fields.CharField(max_length=255)
    value = fields.TextField(default="")
    stream_to_sc = fields.BooleanField(default=False)

    class Meta:
        table = "stream_variable"
        unique_together = (("stream", "key"),)


class StreamInstruction(TimestampedModel):
    stream_point: fields.ForeignKeyRelation[StreamPoint] = fields.ForeignKeyField(
        "models.StreamPoint", related_name="instructions", on_delete=fields.CASCADE
    )
    instruction_text = fields.TextField()
    state = fields.CharEnumField(InstructionState, default=InstructionState.UNACKNOWLEDGED)
    return_value = fields.TextField(default="")

    class Meta:
        table = "stream_instruction"


class AudioFile(TimestampedModel):
    """An uploaded or synthesised sound; ``file_path`` is relative to the media root."""

    file_path = fields.CharField(max_length=512, unique=True)
    file_size = fields.BigIntField(default=0)
    name = fields.CharField(max_length=255, default="untitled")
    description = fields.TextField(default="")
    auto_generated = fields.BooleanField(default=False)
    duration = fields.FloatField(null=True)
    channels = fields.IntField(null=True)
    sample_rate = fields.IntField(null=True)

    class Meta:
        table = "audio_file"
        ordering = ["-created_date"]


class TextToSpeech(UUIDModel):
    """A cache: the same SSML in the same voice is synthesised once."""

    created_date = fields.DatetimeField(auto_now_add=True)
    ssml_hash = fields.CharField(max_length=64)
    ssml_text = fields.TextField()
    voice = fields.CharField(max_length=64)
    backend = fields.CharField(max_length=32)
    audio_file: fields.ForeignKeyRelation[AudioFile] = fields.ForeignKeyField(
        "models.AudioFile", related_name="speech", on_delete=fields.CASCADE
    )

    class Meta:
        table = "text_to_speech"
        unique_together = (("ssml_hash", "voice", "backend"),)

    @classmethod
    async def cached(cls, ssml_hash: str, voice: str, backend: str) -> TextToSpeech | None:
        """The cache entry of this speech, its audio file loaded; ``None`` on a miss."""
        return (
            await cls.filter(ssml_hash=ssml_hash, voice=voice, backend=backend)
            .select_related("audio_file")
            .first()
        )


class StreamLog(UUIDModel):
    created_date = fields.DatetimeField(auto_now_add=True)
    stream_point: fields.ForeignKeyNullableRelation[StreamPoint] = fields.ForeignKeyField(
        "models.StreamPoint", related_name="logs", null=True, on_delete=fields.SET_NULL
    )
    stream: fields.ForeignKeyNullableRelation[Stream] = fields.ForeignKeyField(
        "models.Stream", related_name="logs", null=True, on_delete=fields.SET_NULL
    )
    stream_point_id: UUID | None  # the columns behind the relations, for type checkers
    stream_id: UUID | None
    origin = fields.CharField(max_length=64, null=True)
    level = fields.IntEnumField(LogLevel, default=LogLevel.INFO)
    message = fields.TextField()
    name = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "stream_log"
        ordering = ["created_date", "uuid"]

    @classmethod
    def of(
        cls, *, stream_uuid: UUID | None = None, stream_point_uuid: UUID | None = None
    ) -> QuerySet[StreamLog]:
        """The logs of one stream and/or one stream point; every log when neither is given."""
        query = cls.all()
        if stream_uuid is not None:
            query = query.filter(stream_id=stream_uuid)
        if stream_point_uuid is not None:
            query = query.filter(stream_point_id=stream_point_uuid)
        return query


class ServerProcess(UUIDModel):
    """A live server process; its heartbeat proves it still holds its listeners."""

    hostname = fields.CharField(max_length=255)
    pid = fields.IntField()
    started = fields.DatetimeField(auto_now_add=True)
    last_seen = fields.DatetimeField()

    class Meta:
        table = "server_process"


class ListenerAttachment(UUIDModel):
    """One listener attached to a stream, held by the process that owns its socket."""

    created_date = fields.DatetimeField(auto_now_add=True)
    stream: fields.ForeignKeyRelation[Stream] = fields.ForeignKeyField(
        "models.Stream", related_name="attachments", on_delete=fields.CASCADE
    )
    process: fields.ForeignKeyRelation[ServerProcess] = fields.ForeignKeyField(
        "models.ServerProcess", related_name="attachments", on_delete=fields.CASCADE
    )

    class Meta:
        table = "listener_attachment"


class StreamWalk(UUIDModel):
    """Where a stream's walk stands, saved as it goes so another process can resume it.

    ``fence`` is the token of the engine run that owns the walk: each run that takes the
    walk over raises it, and every write of a run is conditional on its own token, so a
    run that lost the walk can no longer move it (or send for it).
    """

    stream: fields.OneToOneRelation[Stream] = fields.OneToOneField(
        "models.Stream", related_name="walk", on_delete=fields.CASCADE
    )
    stream_id: UUID
    fence = fields.BigIntField(default=0)
    node_uuid = fields.UUIDField(null=True)  # the node being walked; None: not started
    cell_index = fields.IntField(default=0)  # cells of that node already done
    # The instruction the current cell sent: a resumed walk waits for it, never resends it.
    instruction_uuid = fields.UUIDField(null=True)
    steps = fields.IntField(default=0)
    rng_state: fields.Field[Any] = fields.JSONField(null=True)
    reset_done = fields.BooleanField(default=False)
    ended = fields.BooleanField(default=False)
    modified_date = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stream_walk"
