"""The streaming side of one server process, opened and closed as a pair.

``StreamingRuntime.start`` builds, in order: the OSC client, the instruction
dispatcher and stream log, speech synthesis, this process's registration (its
heartbeat owns its listeners), stream assignment, the engine's services and the
listening service — and, when ``GENCASTER_OSC_PORT`` is not 0, the OSC server
that receives beacons and acknowledgements. ``close`` undoes it in reverse.
``OscRuntime`` is the OSC server alone, for ``gencaster osc`` in its own process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

from gencaster.broker import create_broker
from gencaster.db import open_database
from gencaster.engine.engine import EngineServices
from gencaster.services import Services, create_services
from gencaster.settings import Settings
from gencaster.stream_variables import StreamVariables
from gencaster.streaming.assignment import StreamAssigner
from gencaster.streaming.clean_slate import CleanSlate
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.listening import ListeningService
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import OscClient, OscServer
from gencaster.streaming.points import StreamPointHandler, buffer_player
from gencaster.streaming.processes import ProcessRegistry
from gencaster.streaming.speech import create_speech_backend
from gencaster.streaming.tts import SpeechService
from models import Stream, StreamPoint

logger = logging.getLogger(__name__)


def create_speech_service(services: Services) -> SpeechService:
    settings = services.settings
    backend = create_speech_backend(settings.tts_backend, language=settings.tts_language)
    return SpeechService(backend=backend, media=services.media)


def create_point_handler(
    services: Services,
    *,
    dispatcher: InstructionDispatcher,
    logs: StreamLogWriter,
    speech: SpeechService,
) -> StreamPointHandler:
    """The OSC handler; ``/remote/action speak`` plays its speech without waiting."""
    return StreamPointHandler(
        dispatcher=dispatcher,
        channel=services.channel,
        logs=logs,
        osc_password=services.settings.osc_password,
        beacon_window_s=services.settings.beacon_window_s,
        speak=speech.speak,
        play=buffer_player(dispatcher, services.media),
    )


class StreamingRuntime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.osc_server: OscServer | None = None

    async def start(self) -> None:
        services, settings = self.services, self.settings
        self.osc = OscClient()
        await self.osc.start()
        self.logs = StreamLogWriter(services.channel)
        self.dispatcher = InstructionDispatcher(osc=self.osc, channel=services.channel)
        self.speech = create_speech_service(services)
        self.processes = ProcessRegistry(channel=services.channel)
        await self.processes.start()
        self.assigner = StreamAssigner(
            processes=self.processes,
            channel=services.channel,
            beacon_window_s=settings.beacon_window_s,
        )
        self.listening = ListeningService(
            assigner=self.assigner, engine_services=self._engine_services()
        )
        services.listening = self.listening
        services.send_variable_to_sc = self.send_variable
        if settings.osc_port:
            handler = create_point_handler(
                services, dispatcher=self.dispatcher, logs=self.logs, speech=self.speech
            )
            self.osc_server = OscServer(handler, host=settings.osc_host, port=settings.osc_port)
            await self.osc_server.start()  # it logs where it listens

    def _engine_services(self) -> EngineServices:
        services, settings = self.services, self.settings
        return EngineServices(
            instructions=self.dispatcher,
            logs=self.logs,
            media=services.media,
            variables=lambda stream: StreamVariables(
                stream, channel=services.channel, limits=services.variable_limits
            ),
            reset=CleanSlate(self.dispatcher),
            speech=self.speech,
            instruction_timeout=settings.instruction_timeout_s,
            step_limit=settings.engine_step_limit,
        )

    async def send_variable(self, stream: Stream, key: str, value: float) -> None:
        point = await StreamPoint.get(uuid=stream.stream_point_id)
        await self.dispatcher.send_variable(point, key, value)

    async def close(self) -> None:
        if self.osc_server is not None:
            await self.osc_server.close()
        await self.listening.close()
        await self.processes.close()
        await self.speech.close()
        await self.osc.close()


class OscRuntime:
    """Only the OSC server and what it needs; engines live in the web processes."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def start(self) -> OscServer:
        services, settings = self.services, self.services.settings
        self.osc = OscClient()
        await self.osc.start()
        dispatcher = InstructionDispatcher(osc=self.osc, channel=services.channel)
        handler = create_point_handler(
            services,
            dispatcher=dispatcher,
            logs=StreamLogWriter(services.channel),
            speech=create_speech_service(services),
        )
        self.server = OscServer(handler, host=settings.osc_host, port=settings.osc_port or 7000)
        await self.server.start()
        return self.server

    async def close(self) -> None:
        await self.server.close()
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
        runtime = OscRuntime(create_services(settings, broker))
        await runtime.start()
        resources.push_async_callback(runtime.close)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        await stop.wait()
