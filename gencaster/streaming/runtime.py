"""The streaming side of one server process, opened and closed as a pair.

``StreamingRuntime.start`` builds, in order: the OSC client, the instruction
dispatcher and stream log, speech synthesis, this process's registration (its
heartbeat owns its listeners), stream assignment, the engine's services and the
listening service — and, when ``GENCASTER_OSC_PORT`` is not 0, the OSC server
that receives beacons and acknowledgements. ``close`` undoes it in reverse.
``OscRuntime`` is the OSC server alone, for ``gencaster osc`` in its own process.

It is built from the process's base parts (settings, channel, media), never from
``Services``: those are built after it, from its ``listening`` and ``variables``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

from gencaster.broker import create_broker
from gencaster.db import open_database
from gencaster.distributor import GenCasterChannel
from gencaster.engine.engine import EngineServices
from gencaster.media import MediaStore
from gencaster.settings import Settings, SettingsError
from gencaster.stream_variables import StreamVariableService, VariableLimits
from gencaster.streaming.assignment import StreamAssigner
from gencaster.streaming.claims import create_claims
from gencaster.streaming.clean_slate import CleanSlate
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.listening import ListeningService
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import OscClient, OscServer
from gencaster.streaming.points import StreamPointHandler, buffer_player
from gencaster.streaming.processes import ProcessRegistry
from gencaster.streaming.tts import SpeechService, create_speech_service
from gencaster.throttle import FailureThrottle
from models import Stream, StreamPoint

logger = logging.getLogger(__name__)


async def start_osc_server(server: OscServer, host: str, port: int) -> None:
    """Start listening; a port that is taken stops the start-up, naming the setting."""
    try:
        await server.start()  # it logs where it listens
    except OSError as exc:
        reason = exc.strerror or (exc.__cause__ and getattr(exc.__cause__, "strerror", None))
        raise SettingsError(
            f"GENCASTER_OSC_PORT={port}: cannot receive UDP on {host}:{port} "
            f"({reason or exc}); free the port or choose another"
        ) from None


def create_point_handler(
    settings: Settings,
    *,
    channel: GenCasterChannel,
    media: MediaStore,
    dispatcher: InstructionDispatcher,
    logs: StreamLogWriter,
    speech: SpeechService,
) -> StreamPointHandler:
    """The OSC handler; ``/remote/action speak`` plays its speech without waiting."""
    return StreamPointHandler(
        dispatcher=dispatcher,
        channel=channel,
        logs=logs,
        osc_password=settings.osc_password,
        beacon_window_s=settings.beacon_window_s,
        speak=speech.speak,
        play=buffer_player(dispatcher, media),
        password_failures=FailureThrottle(
            free=settings.login_free_failures,
            max_delay=settings.login_max_delay_s,
        ),
        allowed_networks=settings.osc_allowed_networks,
        max_points=settings.max_stream_points,
    )


class StreamingRuntime:
    def __init__(self, settings: Settings, *, channel: GenCasterChannel, media: MediaStore) -> None:
        self.settings = settings
        self.channel = channel
        self.media = media
        self.variables = StreamVariableService(
            channel=channel,
            limits=VariableLimits(
                max_per_stream=settings.max_stream_variables,
                max_value_bytes=settings.max_variable_bytes,
            ),
            send_to_sc=self.send_variable,
        )
        self.osc_server: OscServer | None = None

    async def start(self) -> None:
        settings, channel = self.settings, self.channel
        self.osc = OscClient()
        await self.osc.start()
        self.logs = StreamLogWriter(channel)
        self.dispatcher = InstructionDispatcher(osc=self.osc, channel=channel)
        self.speech = create_speech_service(settings, self.media)
        self.processes = ProcessRegistry(channel=channel)
        await self.processes.start()
        self.assigner = StreamAssigner(
            processes=self.processes,
            channel=channel,
            beacon_window_s=settings.beacon_window_s,
        )
        self.claims = create_claims(
            settings.redis_url, prefix=settings.redis_prefix, lease_s=settings.engine_lease_s
        )
        self.listening = ListeningService(
            assigner=self.assigner,
            engine_services=self._engine_services(),
            dispatcher=self.dispatcher,
            claims=self.claims,
            channel=channel,
            claim_retry_s=settings.engine_lease_s / 5,
        )
        if settings.osc_port:
            handler = create_point_handler(
                settings,
                channel=channel,
                media=self.media,
                dispatcher=self.dispatcher,
                logs=self.logs,
                speech=self.speech,
            )
            self.osc_server = OscServer(
                handler,
                host=settings.osc_host,
                port=settings.osc_port,
                max_datagrams_per_s=settings.osc_max_datagrams_per_s,
            )
            await start_osc_server(self.osc_server, settings.osc_host, settings.osc_port)

    def _engine_services(self) -> EngineServices:
        settings = self.settings
        return EngineServices(
            instructions=self.dispatcher,
            logs=self.logs,
            media=self.media,
            variables=self.variables.of,
            reset=CleanSlate(self.dispatcher),
            speech=self.speech,
            instruction_timeout=settings.instruction_timeout_s,
            instruction_warning=settings.instruction_warning_s,
            step_limit=settings.engine_step_limit,
        )

    async def send_variable(self, stream: Stream, key: str, value: float) -> None:
        point = await StreamPoint.get(uuid=stream.stream_point_id)
        await self.dispatcher.send_variable(point, key, value)

    async def close(self) -> None:
        if self.osc_server is not None:
            await self.osc_server.close()
        await self.listening.close()
        await self.claims.close()
        await self.processes.close()
        await self.speech.close()
        await self.osc.close()


class OscRuntime:
    """Only the OSC server and what it needs; engines live in the web processes."""

    def __init__(self, settings: Settings, *, channel: GenCasterChannel, media: MediaStore) -> None:
        self.settings = settings
        self.channel = channel
        self.media = media

    async def start(self) -> OscServer:
        settings, channel = self.settings, self.channel
        self.osc = OscClient()
        await self.osc.start()
        dispatcher = InstructionDispatcher(osc=self.osc, channel=channel)
        self.speech = create_speech_service(settings, self.media)
        handler = create_point_handler(
            settings,
            channel=channel,
            media=self.media,
            dispatcher=dispatcher,
            logs=StreamLogWriter(channel),
            speech=self.speech,
        )
        self.server = OscServer(
            handler,
            host=settings.osc_host,
            port=settings.osc_port or 7000,
            max_datagrams_per_s=settings.osc_max_datagrams_per_s,
        )
        await start_osc_server(self.server, settings.osc_host, settings.osc_port or 7000)
        return self.server

    async def close(self) -> None:
        await self.server.close()
        await self.speech.close()  # its syntheses still in flight
        await self.osc.close()


async def run_osc_process(settings: Settings) -> None:
    """``gencaster osc``: the OSC server in its own process, until SIGINT or SIGTERM.

    Engines run in the web processes and learn of acknowledgements only through
    the broker, so this needs Redis.
    """
    async with AsyncExitStack() as resources:
        await resources.enter_async_context(open_database(settings.database_url))
        broker = create_broker(settings.redis_url, prefix=settings.redis_prefix)
        await broker.start()
        resources.push_async_callback(broker.close)
        media = MediaStore.from_settings(settings)
        runtime = OscRuntime(settings, channel=GenCasterChannel(broker), media=media)
        await runtime.start()
        resources.push_async_callback(runtime.close)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        await stop.wait()
