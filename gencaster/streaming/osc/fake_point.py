"""A fake stream point: a real UDP peer that answers like the SuperCollider class (OSC.md).

It beacons to the server, records every ``/instruction`` it receives, and acknowledges
``RECEIVED`` at once and ``FINISHED`` later. It never evaluates code; markers in the
code stand in for SuperCollider's errors. The observed quirks of a real instance can
be switched on one by one, so tests, demos and benchmarks meet them on purpose.

With ``emulate_cmd_period`` the clean slate behaves as in the class: its ``CmdPeriod``
runs ``cmd_period_after`` seconds (0.01) after it arrives and kills every evaluation still
under way (their ``FINISHED`` never comes), the instruction receiver is then deaf for
``receiver_gap`` seconds (datagrams arriving then are dropped, as while the class
re-creates its ``OSCFunc``), and the reset's own ``FINISHED`` follows
``cmd_period_after`` seconds after the ``CmdPeriod``. An evaluation then lasts as long
as the ``N.wait`` calls in its code add up to.

``main(argv)`` runs one until interrupted (``gencaster fake-stream-point``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import logging
import math
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NamedTuple

from gencaster.tasks import TaskSet

from .messages import (
    ACKNOWLEDGE_ADDRESS,
    BEACON_ADDRESS,
    INSTRUCTION_ADDRESS,
    MalformedMessage,
    OscArg,
    decode_message,
    encode_message,
)

logger = logging.getLogger(__name__)

CLEAN_SLATE_MARKER = "CmdPeriod.run"
CMD_PERIOD_AFTER = 0.01  # the clean slate's ``0.01.wait`` before and after its CmdPeriod
RECEIVER_GAP = 0.015
_WAIT = re.compile(r"(\d+(?:\.\d+)?)\.wait\b")
SYNTH_PORT = 57110  # the SuperCollider default; the fake runs no synth
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SYNC_PLAYBACK = re.compile(r'syncPlayBuffer\(\s*"([^"]*)"')


class ReceivedInstruction(NamedTuple):
    uuid: str
    code: str
    manual_finish: object  # as it came off the wire: a bool when the sender kept to OSC.md
    received_at: float  # the event loop's clock


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, point: FakeStreamPoint) -> None:
        self._point = point

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._point._datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("Fake stream point socket error: %s", exc)


class FakeStreamPoint:
    """Beacons and acknowledgements leave from the socket bound to ``lang_port``, as in sclang.

    A socket bound to 127.0.0.1 reaches only a server on loopback; use ``host="0.0.0.0"``
    to talk to a server elsewhere. Every fake has the same janus rooms unless told
    otherwise; pass distinct rooms where a test must tell points apart by room. ``None``
    leaves a key out of the beacon, as the class does with an unset value.
    """

    def __init__(
        self,
        *,
        server_host: str,
        server_port: int,
        name: str = "fake",
        host: str = "127.0.0.1",
        lang_port: int = 0,
        janus_out_room: int | None = 1234,
        janus_in_room: int | None = 1235,
        janus_public_ip: str | None = "127.0.0.1",
        send_janus_keys: bool = True,
        beacon_interval: float = 5.0,
        finish_delay: float = 0.0,
        manual_finish_delay: float | None = 0.05,
        duplicate_acks_until_clean_slate: bool = False,
        runtime_error_marker: str | None = None,
        syntax_error_marker: str | None = None,
        emulate_cmd_period: bool = False,
        receiver_gap: float = RECEIVER_GAP,
        cmd_period_after: float = CMD_PERIOD_AFTER,
    ) -> None:
        if beacon_interval <= 0:
            raise ValueError("beacon_interval must be positive")
        self._server = (server_host, server_port)
        self._name = name
        self._host = host
        self._lang_port = lang_port
        self._janus = {
            "janus_out_room": None if janus_out_room is None else str(janus_out_room),
            "janus_in_room": None if janus_in_room is None else str(janus_in_room),
            "janus_public_ip": janus_public_ip,
        }
        self._send_janus_keys = send_janus_keys
        self._beacon_interval = beacon_interval
        self._finish_delay = finish_delay
        self._manual_finish_delay = manual_finish_delay
        self._clean_slate = not duplicate_acks_until_clean_slate
        self._runtime_error_marker = runtime_error_marker
        self._syntax_error_marker = syntax_error_marker
        self._emulate_cmd_period = emulate_cmd_period
        self._receiver_gap = receiver_gap
        self._cmd_period_after = cmd_period_after
        self._deaf_until = float("-inf")
        self.received: list[ReceivedInstruction] = []
        self.dropped: list[str] = []  # uuids of instructions that fell into a receiver gap
        self.cmd_periods = 0
        self.killed: list[str] = []  # uuids of evaluations a CmdPeriod cut off
        self.errors: list[str] = []  # what sclang would have printed: bad input, thrown errors
        self._arrival = asyncio.Event()
        self._state = _State.NEW
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks = TaskSet()
        self._evaluations: dict[asyncio.Task[None], str] = {}  # what a CmdPeriod kills

    @property
    def lang_port(self) -> int:
        """The bound port once started (``lang_port=0`` picks a free one)."""
        return self._lang_port

    async def start(self) -> None:
        if self._state is not _State.NEW:
            raise RuntimeError(f"cannot start a fake stream point that is {self._state.value}")
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Endpoint(self), local_addr=(self._host, self._lang_port)
        )
        self._lang_port = self._transport.get_extra_info("sockname")[1]
        self._state = _State.RUNNING
        self._tasks.start(self._beacon_loop(), name=f"{self._name}-beacons")

    async def close(self) -> None:
        """Stop beaconing and cancel pending acknowledgements; safe to call more than once."""
        self._state = _State.CLOSED
        await self._tasks.cancel_all()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    async def beacon(self) -> None:
        """Send one beacon now."""
        self._send(BEACON_ADDRESS, self._beacon_args())

    async def finish(self, uuid: str, return_value: str = "nil") -> None:
        """Send ``FINISHED`` now, as the instruction's own code does with ``manual_finish``."""
        self._send_finished(uuid, return_value)

    # A timeout parameter (ASYNC109) on purpose: every test wait must be bounded, and
    # the error then says how many instructions did arrive.
    async def wait_for_instructions(
        self,
        count: int,
        timeout: float,
    ) -> list[ReceivedInstruction]:
        """The first ``count`` instructions, once that many have arrived."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.received) < count:
                    await self._arrival.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{self._name}: {len(self.received)} of {count} instructions within {timeout} s"
            ) from None
        return self.received[:count]

    async def wait_for_code(self, code: str, timeout: float) -> ReceivedInstruction:
        """The first instruction with exactly this code, once it has arrived."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for instruction in self.received:
                        if instruction.code == code:
                            return instruction
                    await self._arrival.wait()
        except TimeoutError:
            raise TimeoutError(f"{self._name}: no {code!r} within {timeout} s") from None

    async def wait_for_drop(self, uuid: str, timeout: float) -> None:
        """Until the instruction ``uuid`` has fallen into a receiver gap."""
        async with asyncio.timeout(timeout):
            while uuid not in self.dropped:
                await self._arrival.wait()

    async def _beacon_loop(self) -> None:
        while True:
            await self.beacon()
            await asyncio.sleep(self._beacon_interval)

    def _beacon_args(self) -> list[OscArg]:
        # Keys in a scrambled order, as sclang's Event produces them; unset values are dropped.
        janus = self._janus if self._send_janus_keys else {}
        fields: dict[str, OscArg] = {
            "janus_in_room": janus.get("janus_in_room"),
            "osc_backend_port": self._server[1],
            "lang_port": self._lang_port,
            "status": "BEACON",
            "use_input": 0,
            "janus_public_ip": janus.get("janus_public_ip"),
            "name": self._name,
            "janus_out_port": 0,
            "uuid": 0,
            "synth_port": SYNTH_PORT,
            "janus_out_room": janus.get("janus_out_room"),
            "osc_backend_host": self._server[0],
            "janus_in_port": 0,
        }
        return [item for key, value in fields.items() if value is not None for item in (key, value)]

    def _datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._state is not _State.RUNNING:
            return
        try:
            address, args = decode_message(data)
        except MalformedMessage as exc:
            self._error(f"malformed datagram from {addr[0]}:{addr[1]}: {exc.reason}")
            return
        if address != INSTRUCTION_ADDRESS or not args or not isinstance(args[0], str):
            self._error(f"unexpected message {address!r} from {addr[0]}:{addr[1]}")
            return
        uuid = args[0]
        now = asyncio.get_running_loop().time()
        if now < self._deaf_until:
            logger.info("%s dropped %s: its receiver is being re-created", self._name, uuid)
            self.dropped.append(uuid)
            self._notify_arrival()
            return
        code = "{}" if len(args) < 2 or args[1] is None else str(args[1])
        manual_finish = args[2] if len(args) > 2 and args[2] is not None else False
        self._record(ReceivedInstruction(uuid, code, manual_finish, now))
        # A freshly booted instance has two instruction responders until the clean slate;
        # both see the clean-slate instruction itself, so it is answered twice as well.
        for _ in range(1 if self._clean_slate else 2):
            if self._emulate_cmd_period and CLEAN_SLATE_MARKER in code:
                self._send(ACKNOWLEDGE_ADDRESS, ["status", "RECEIVED", "uuid", uuid])
                self._evaluate(uuid, self._run_clean_slate(uuid))
            else:
                self._answer(uuid, code, manual_finish)
        if CLEAN_SLATE_MARKER in code and not self._emulate_cmd_period:
            self._clean_slate = True

    async def _run_clean_slate(self, uuid: str) -> None:
        """``0.01.wait;CmdPeriod.run;0.01.wait;`` as the class runs it."""
        await asyncio.sleep(self._cmd_period_after)
        self._cmd_period()
        await asyncio.sleep(self._cmd_period_after)
        self._send_finished(uuid, "nil")

    def _cmd_period(self) -> None:
        """Kill every other evaluation under way; the receiver is deaf for a moment."""
        self.cmd_periods += 1
        self._clean_slate = True  # the class's duplicate responder is gone for good
        current = asyncio.current_task()
        for task, uuid in list(self._evaluations.items()):
            if task is not current and not task.done():
                task.cancel()
                self.killed.append(uuid)
        self._deaf_until = asyncio.get_running_loop().time() + self._receiver_gap

    def _record(self, instruction: ReceivedInstruction) -> None:
        logger.info("%s received %s: %.80s", self._name, instruction.uuid, instruction.code)
        self.received.append(instruction)
        self._notify_arrival()

    def _notify_arrival(self) -> None:
        arrival, self._arrival = self._arrival, asyncio.Event()
        arrival.set()

    def _answer(self, uuid: str, code: str, manual_finish: object) -> None:
        """Mirror the class's order: RECEIVED, evaluate, check manual_finish, FINISHED."""
        self._send(ACKNOWLEDGE_ADDRESS, ["status", "RECEIVED", "uuid", uuid])
        if self._runtime_error_marker and self._runtime_error_marker in code:
            self._error(f"runtime error in instruction {uuid}")
            return
        if not isinstance(manual_finish, bool):
            self._error(f"instruction {uuid}: manual_finish is not a Boolean; FINISHED never comes")
            return
        syntax_error = bool(self._syntax_error_marker and self._syntax_error_marker in code)
        if not manual_finish:
            return_value = "nil" if syntax_error else _return_value(code)
            self._finish_after(self._evaluation_time(code), uuid, return_value)
        elif not syntax_error and self._manual_finish_delay is not None:
            self._finish_after(self._manual_finish_delay, uuid, _playback_message(code))

    def _evaluation_time(self, code: str) -> float:
        if not self._emulate_cmd_period:
            return self._finish_delay
        return self._finish_delay + sum(float(seconds) for seconds in _WAIT.findall(code))

    def _finish_after(self, delay: float, uuid: str, return_value: str) -> None:
        if delay <= 0:
            self._send_finished(uuid, return_value)
        else:
            self._evaluate(uuid, self._finish_later(delay, uuid, return_value))

    def _evaluate(self, uuid: str, coro: Coroutine[Any, Any, None]) -> None:
        """An evaluation under way on the instance: a CmdPeriod kills it."""
        task = self._tasks.start(
            coro,
            name=f"{self._name}-evaluation-{uuid}",
            on_done=self._evaluation_done,
        )
        self._evaluations[task] = uuid

    def _evaluation_done(self, task: asyncio.Task[Any]) -> None:
        self._evaluations.pop(task, None)

    async def _finish_later(self, delay: float, uuid: str, return_value: str) -> None:
        await asyncio.sleep(delay)
        self._send_finished(uuid, return_value)

    def _send_finished(self, uuid: str, return_value: str) -> None:
        args: list[OscArg] = ["return_value", return_value, "status", "FINISHED", "uuid", uuid]
        self._send(ACKNOWLEDGE_ADDRESS, args)

    def _send(self, address: str, args: list[OscArg]) -> None:
        if self._transport is None:
            raise RuntimeError("the fake stream point is not running")
        self._transport.sendto(encode_message(address, args), self._server)

    def _error(self, message: str) -> None:
        logger.warning("%s: %s", self._name, message)
        self.errors.append(message)


def _return_value(code: str) -> str:
    """SuperCollider's code-string of a literal result; the fake evaluates nothing else."""
    text = code.strip().rstrip(";").strip()
    if _NUMBER.fullmatch(text) or _STRING.fullmatch(text):
        return text
    return "nil"


def _playback_message(code: str) -> str:
    match = _SYNC_PLAYBACK.search(code)
    return f"Buffer {match.group(1)} finished playing" if match else "nil"


async def run_fake_stream_point(*, server_host: str, server_port: int, **options: Any) -> None:
    """Run one fake stream point until cancelled; ``options`` are FakeStreamPoint's keywords."""
    point = FakeStreamPoint(server_host=server_host, server_port=server_port, **options)
    await point.start()
    logger.info(
        "Fake stream point listening on %s:%d, beaconing to %s:%d",
        options.get("host", "127.0.0.1"),
        point.lang_port,
        server_host,
        server_port,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await point.close()


def _port(lowest: int) -> Callable[[str], int]:
    """An argparse type: a UDP port from ``lowest`` (0: any free one) to 65535."""

    def port(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is no port number") from None
        if not lowest <= value <= 65535:
            raise argparse.ArgumentTypeError(f"must be {lowest}-65535, not {value}")
        return value

    return port


def _seconds(*, positive: bool) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, above zero if ``positive``."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is no number") from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            bound = "above 0" if positive else "0 or more"
            raise argparse.ArgumentTypeError(f"must be a number of seconds {bound}, not {text}")
        return value

    return seconds


def build_argument_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command line of ``gencaster fake-stream-point``; pass a subparser to extend it."""
    parser = parser or argparse.ArgumentParser(description="Run a fake SuperCollider stream point.")
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    add = parser.add_argument
    add("--server-host", default="127.0.0.1", help="the Gencaster OSC server's IP address")
    add("--server-port", type=_port(1), default=7000, help="the Gencaster OSC server's UDP port")
    add("--name", default="fake", help="the name the point beacons (shown in the editor)")
    add("--host", default="127.0.0.1", help="address to bind (0.0.0.0: all)")
    add("--lang-port", type=_port(0), default=0, help="UDP port for instructions (0: a free one)")
    add("--janus-out-room", type=int, default=1234, help="Janus room the point streams to")
    add("--janus-in-room", type=int, default=1235, help="Janus room the point listens to")
    add("--janus-public-ip", default="127.0.0.1", help="address listeners reach Janus at")
    add("--no-janus-keys", action="store_true", help="beacon without the Janus keys")
    add(
        "--beacon-interval",
        type=_seconds(positive=True),
        default=5.0,
        help="seconds between beacons",
    )
    add(
        "--finish-delay",
        type=_seconds(positive=False),
        default=0.0,
        help="seconds before answering FINISHED",
    )
    add(
        "--manual-finish-delay",
        type=_seconds(positive=False),
        default=0.05,
        help="seconds before FINISHED for code that finishes itself (sound files)",
    )
    add("--duplicate-acks", action="store_true", help="answer twice, until the clean slate")
    parser.add_argument(
        "--like-sclang",
        action="store_true",
        help="answer twice until the clean slate, and emulate its CmdPeriod and receiver gap",
    )
    return parser


def options_from_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``run_fake_stream_point`` from parsed command-line arguments."""
    return {
        "server_host": args.server_host,
        "server_port": args.server_port,
        "name": args.name,
        "host": args.host,
        "lang_port": args.lang_port,
        "janus_out_room": args.janus_out_room,
        "janus_in_room": args.janus_in_room,
        "janus_public_ip": args.janus_public_ip,
        "send_janus_keys": not args.no_janus_keys,
        "beacon_interval": args.beacon_interval,
        "finish_delay": args.finish_delay,
        "manual_finish_delay": args.manual_finish_delay,
        "duplicate_acks_until_clean_slate": args.duplicate_acks or args.like_sclang,
        "emulate_cmd_period": args.like_sclang,
    }


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = options_from_arguments(build_argument_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_fake_stream_point(**options))
    return 0
