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
        ),
    )
