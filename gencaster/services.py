"""The long-lived services of one server process, handed to resolvers via the context.

``Services`` is built once, after the streaming layer has started, and never
changes: every part is there from the first request on. The parts the schema
reaches through it are typed as ports (``Listening``), so a resolver sees what
it may call, not the runtime behind it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from uuid import UUID

from redis.asyncio import BlockingConnectionPool, Redis

from gencaster.access import AccessWatch
from gencaster.audio import AudioLibrary
from gencaster.auth import LoginGuard, SessionStore
from gencaster.broker import Broker
from gencaster.distributor import GenCasterChannel
from gencaster.media import MediaStore
from gencaster.settings import Settings
from gencaster.story_graph import StoryGraphEditor
from gencaster.stream_variables import StreamVariableService
from gencaster.streaming.listening import ListenEvent


class Listening(Protocol):
    """Attaches a caller to a stream of a graph and follows its engine (``streamInfo``)."""

    def listen(self, graph_uuid: UUID) -> AsyncGenerator[ListenEvent]: ...


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    broker: Broker
    channel: GenCasterChannel
    sessions: SessionStore
    editor: StoryGraphEditor
    media: MediaStore
    audio: AudioLibrary
    variables: StreamVariableService
    listening: Listening
    logins: LoginGuard
    access: AccessWatch


def shared_counts_client(redis_url: str | None) -> Redis | None:
    """A small Redis client for counts every process must agree on; none without Redis.

    Commands fail fast (1 s), so an outage costs a login a second, not a hang.
    """
    if not redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        redis_url, max_connections=8, timeout=1.0, socket_timeout=1.0, socket_connect_timeout=1.0
    )
    return Redis(connection_pool=pool)


def create_services(
    settings: Settings,
    *,
    broker: Broker,
    channel: GenCasterChannel,
    media: MediaStore,
    variables: StreamVariableService,
    listening: Listening,
) -> Services:
    sessions = SessionStore(
        settings.resolved_secret_key(), lifetime=timedelta(days=settings.session_days)
    )
    return Services(
        settings=settings,
        broker=broker,
        channel=channel,
        sessions=sessions,
        access=AccessWatch(
            channel=channel, digest=sessions.digest, audit_interval=settings.session_audit_s
        ),
        editor=StoryGraphEditor(channel),
        media=media,
        audio=AudioLibrary(media=media, channel=channel),
        variables=variables,
        listening=listening,
        logins=LoginGuard.create(
            free=settings.login_free_failures,
            max_delay=settings.login_max_delay_s,
            threads=settings.password_hash_threads,
            waiting=settings.password_hash_waiting,
            redis=shared_counts_client(settings.redis_url),
            prefix=settings.redis_prefix,
        ),
    )
