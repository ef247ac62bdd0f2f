"""The long-lived services of one server process, handed to resolvers via the context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gencaster.auth import SessionStore
from gencaster.broker import Broker
from gencaster.distributor import GenCasterChannel
from gencaster.media import MediaStore
from gencaster.settings import Settings
from gencaster.story_graph import StoryGraphEditor
from gencaster.stream_variables import VariableLimits


@dataclass
class Services:
    settings: Settings
    broker: Broker
    channel: GenCasterChannel
    sessions: SessionStore
    editor: StoryGraphEditor
    media: MediaStore
    variable_limits: VariableLimits
    # Filled in by the streaming layer when it starts.
    listening: Any = None
    send_variable_to_sc: Callable[..., Awaitable[None]] | None = None


def create_services(settings: Settings, broker: Broker) -> Services:
    channel = GenCasterChannel(broker)
    return Services(
        settings=settings,
        broker=broker,
        channel=channel,
        sessions=SessionStore(
            settings.resolved_secret_key(), lifetime=timedelta(days=settings.session_days)
        ),
        editor=StoryGraphEditor(channel),
        media=MediaStore(
            root=settings.media_root,
            url_prefix=settings.media_url,
            sc_prefix=settings.sc_media_prefix,
        ),
        variable_limits=VariableLimits(
            max_per_stream=settings.max_stream_variables,
            max_value_bytes=settings.max_variable_bytes,
        ),
    )
