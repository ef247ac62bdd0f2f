"""The OSC messages of OSC.md: datagram codec, and parsing of flat key/value argument lists.

Everything here is pure (no sockets, no event loop), so the server, the client and the
fake stream point share one reading of the contract. Parsing is strict about what the
server relies on and lenient where the SuperCollider class is known to vary: keys come
in any order, unknown keys are ignored, an unset value (a missing key or an OSC nil)
counts as absent, and janus rooms may arrive as strings of digits.
"""

from __future__ import annotations

import hmac
import struct
import uuid as uuid_module
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pythonosc.osc_message_builder import OscMessageBuilder

BEACON_ADDRESS = "/beacon"
ACKNOWLEDGE_ADDRESS = "/acknowledge"
REMOTE_ACTION_ADDRESS = "/remote/action"
INSTRUCTION_ADDRESS = "/instruction"

ACK_STATUSES = frozenset({"SUCCESS", "FAILURE", "READY", "FINISHED", "BEACON", "RECEIVED"})
PROTOCOL_VERSION = "0.1"
REMOTE_ACTIONS = frozenset({"code", "speak"})

MAX_PORT = 65535
_MAX_ID = 2**63 - 1  # janus room ids are 64-bit; also bounds digit strings before int()
_MAX_ID_DIGITS = len(str(_MAX_ID))

OscArg = str | int | float | bool | bytes | None
_T = TypeVar("_T")


class MalformedMessage(Exception):
    """A datagram or argument list that breaks OSC.md; ``reason`` never echoes values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"MalformedMessage(reason={self.reason!r})"


@dataclass(frozen=True)
class Beacon:
    """``/beacon``: a live stream point announcing itself (stream point -> server)."""

    name: str
    synth_port: int
    lang_port: int
    janus_out_port: int | None
    janus_in_port: int | None
    janus_out_room: int | None
    janus_in_room: int | None
    janus_public_ip: str | None
    use_input: bool
    osc_backend_host: str | None
    osc_backend_port: int | None


@dataclass(frozen=True)
class Acknowledgement:
    """``/acknowledge``: an instruction's new state (stream point -> server)."""

    uuid: uuid_module.UUID
    status: str
    return_value: str | None
    # The return value was not UTF-8: its undecodable bytes were replaced with U+FFFD.
    return_value_replaced: bool = False


@dataclass(frozen=True)
class RemoteAction:
    """``/remote/action``: live coding from a performer's SuperCollider (performer -> server)."""

    protocol_version: str
    action: str
    password: str = field(repr=False)
    cmd: str
    target: int | None


class LossyText(str):
    """An OSC string that was not UTF-8, decoded with U+FFFD for each undecodable byte.

    Only free text may be used lossy (an instruction's return value); keys, uuids,
    statuses and names must be exact, so the strict readers refuse it.
    """

    __slots__ = ()


# --- datagram codec -------------------------------------------------------------------

_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")
_FIXED: dict[str, struct.Struct] = {"i": _INT32, "h": _INT64, "f": _FLOAT32, "d": _FLOAT64}
_CONSTANTS: dict[str, OscArg] = {"T": True, "F": False, "N": None}


def decode_message(data: bytes) -> tuple[str, list[OscArg]]:
    """Split one OSC message datagram into its address and arguments.

    Written with ``bytes.find`` instead of python-osc's parser, which scans strings byte
    by byte in Python (about 6 ms for a 60 kB string, so a flood could starve the loop)
    and logs unknown type tags through the root logger without any rate limit.
    """
    if data.startswith(b"#bundle"):
        raise MalformedMessage("OSC bundles are not part of the contract")
    if not data.startswith(b"/"):
        raise MalformedMessage("not an OSC message")
    address, pos = _read_string(data, 0)
    if isinstance(address, LossyText):
        raise MalformedMessage("OSC address is not UTF-8")
    if pos == len(data):
        return address, []  # OSC 1.0 allows a message without a type tag string
    tags, pos = _read_string(data, pos)
    if isinstance(tags, LossyText) or not tags.startswith(","):
        raise MalformedMessage("type tag string does not start with ','")
    args: list[OscArg] = []
    for tag in tags[1:]:
        value, pos = _read_arg(data, pos, tag)
        args.append(value)
    if pos != len(data):
        raise MalformedMessage("trailing bytes after the last argument")
    return address, args


def _read_arg(data: bytes, pos: int, tag: str) -> tuple[OscArg, int]:
    if tag in _CONSTANTS:
        return _CONSTANTS[tag], pos
    if tag == "s":
        return _read_string(data, pos)
    if tag == "b":
        return _read_blob(data, pos)
    fixed = _FIXED.get(tag)
    if fixed is None:
        raise MalformedMessage("unsupported OSC type tag")
    try:
        (value,) = fixed.unpack_from(data, pos)
    except struct.error:
        raise MalformedMessage("datagram ends inside an argument") from None
    return value, pos + fixed.size


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\0", pos)
    if end < 0:
        raise MalformedMessage("unterminated OSC string")
    after = (end + 4) & ~3  # the null and its padding fill up to a multiple of four
    if after > len(data):
        raise MalformedMessage("OSC string padding is cut off")
    raw = data[pos:end]
    try:
        return raw.decode("utf-8"), after
    except UnicodeDecodeError:
        # One odd value (Latin-1, or UTF-8 cut short) must not drop the whole message.
        return LossyText(raw.decode("utf-8", errors="replace")), after


def _read_blob(data: bytes, pos: int) -> tuple[bytes, int]:
    try:
        (size,) = _INT32.unpack_from(data, pos)
    except struct.error:
        raise MalformedMessage("datagram ends inside a blob size") from None
    start = pos + _INT32.size
    after = start + ((size + 3) & ~3)
    if size < 0 or after > len(data):
        raise MalformedMessage("blob is cut off")
    return data[start : start + size], after


def encode_message(address: str, args: Sequence[OscArg]) -> bytes:
    """One OSC message datagram; ``bool`` becomes the ``T``/``F`` tags, never an int."""
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool):
            tag = OscMessageBuilder.ARG_TYPE_TRUE if arg else OscMessageBuilder.ARG_TYPE_FALSE
            builder.add_arg(arg, tag)
        else:
            builder.add_arg(arg)
    return builder.build().dgram


# --- key/value argument lists ---------------------------------------------------------


def _pairs(args: Sequence[object]) -> dict[str, object]:
    """``[k1, v1, k2, v2, ...]`` as a dict; a later duplicate key wins; nil values are dropped."""
    if len(args) % 2:
        raise MalformedMessage(f"odd number of arguments ({len(args)})")
    fields: dict[str, object] = {}
    for index in range(0, len(args), 2):
        key = args[index]
        if not isinstance(key, str):
            raise MalformedMessage(f"argument {index} must be a string key")
        if isinstance(key, LossyText):
            raise MalformedMessage(f"argument {index} (a key) is not UTF-8")
        if args[index + 1] is not None:
            fields[key] = args[index + 1]
    return fields


def _require(fields: Mapping[str, object], key: str) -> object:
    if key not in fields:
        raise MalformedMessage(f"missing key {key!r}")
    return fields[key]


def _as_text(key: str, value: object) -> str:
    """Free text: a string, lossy or not."""
    if not isinstance(value, str):
        raise MalformedMessage(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _as_str(key: str, value: object) -> str:
    """An exact string: keys, uuids, statuses and names are refused unless UTF-8."""
    if isinstance(value, LossyText):
        raise MalformedMessage(f"{key!r} is not UTF-8")
    return _as_text(key, value)


def _as_int(key: str, value: object, low: int, high: int) -> int:
    """An OSC int, or a string of digits (how the SuperCollider class sends janus rooms)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > _MAX_ID_DIGITS:
            raise MalformedMessage(f"{key!r} is out of range")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"{key!r} must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise MalformedMessage(f"{key!r} is out of range")
    return value


def _as_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0  # the SuperCollider class sends use_input as 0 or 1
    raise MalformedMessage(f"{key!r} must be a boolean or an integer, not {type(value).__name__}")


def _optional(
    fields: Mapping[str, object], key: str, convert: Callable[[str, object], _T]
) -> _T | None:
    """The converted value, or None when the key is missing or holds an empty string (unset)."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    return convert(key, value)


def _port(key: str, value: object) -> int:
    return _as_int(key, value, 0, MAX_PORT)


def _room(key: str, value: object) -> int:
    return _as_int(key, value, 0, _MAX_ID)


def parse_beacon(args: Sequence[object]) -> Beacon:
    """Only name and the two ports are required: the instance drops keys whose value is unset."""
    fields = _pairs(args)
    return Beacon(
        name=_as_str("name", _require(fields, "name")),
        synth_port=_port("synth_port", _require(fields, "synth_port")),
        lang_port=_as_int("lang_port", _require(fields, "lang_port"), 1, MAX_PORT),
        janus_out_port=_optional(fields, "janus_out_port", _port),
        janus_in_port=_optional(fields, "janus_in_port", _port),
        janus_out_room=_optional(fields, "janus_out_room", _room),
        janus_in_room=_optional(fields, "janus_in_room", _room),
        janus_public_ip=_optional(fields, "janus_public_ip", _as_str),
        use_input=_optional(fields, "use_input", _as_bool) or False,
        osc_backend_host=_optional(fields, "osc_backend_host", _as_str),
        osc_backend_port=_optional(fields, "osc_backend_port", _port),
    )


def parse_acknowledgement(args: Sequence[object]) -> Acknowledgement:
    fields = _pairs(args)
    raw_uuid = _as_str("uuid", _require(fields, "uuid"))
    try:
        ack_uuid = uuid_module.UUID(raw_uuid)
    except ValueError:
        raise MalformedMessage("'uuid' is not a UUID") from None
    status = _as_str("status", _require(fields, "status"))
    if status not in ACK_STATUSES:
        raise MalformedMessage("'status' is not a known acknowledgement status")
    raw_return = fields.get("return_value")
    return_value = None if raw_return is None else _as_text("return_value", raw_return)
    return Acknowledgement(
        uuid=ack_uuid,
        status=status,
        return_value=None if return_value is None else str(return_value),
        return_value_replaced=isinstance(return_value, LossyText),
    )


def parse_remote_action(args: Sequence[object]) -> RemoteAction:
    """Checks the shape only; whether the password is right is the handler's decision."""
    fields = _pairs(args)
    version = _as_str("protocol_version", _require(fields, "protocol_version"))
    if version != PROTOCOL_VERSION:
        raise MalformedMessage(f"'protocol_version' must be {PROTOCOL_VERSION!r}")
    action = _as_str("action", _require(fields, "action"))
    if action not in REMOTE_ACTIONS:
        raise MalformedMessage("'action' must be 'code' or 'speak'")
    return RemoteAction(
        protocol_version=version,
        action=action,
        password=_as_str("password", _require(fields, "password")),
        cmd=_as_str("cmd", _require(fields, "cmd")),
        target=_optional(fields, "target", _room),
    )


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty configured password matches nothing (feature off)."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
