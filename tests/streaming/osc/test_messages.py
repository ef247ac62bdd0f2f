"""Parsing of OSC.md's key/value messages and the datagram codec (no sockets)."""

from __future__ import annotations

import struct
import uuid

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from gencaster.streaming.osc import (
    Acknowledgement,
    Beacon,
    MalformedMessage,
    RemoteAction,
    parse_acknowledgement,
    parse_beacon,
    parse_remote_action,
    password_matches,
)
from gencaster.streaming.osc.messages import decode_message, encode_message
from tests.support.osc import acknowledge_datagram, osc_string

UUID = "5a3c1a52-8f4e-4f1c-9f64-3f2d7f1b2c10"

# What the SuperCollider class sends: keys in Event order, rooms as digit strings.
REAL_BEACON: list[object] = [
    "janus_in_room", "1235", "osc_backend_port", 7000, "lang_port", 57120,
    "status", "BEACON", "use_input", 0, "janus_public_ip", "10.0.0.5", "name", "SC_1",
    "janus_out_port", 5002, "uuid", 0, "synth_port", 57110, "janus_out_room", "1234",
    "osc_backend_host", "10.0.0.1", "janus_in_port", 5003,
]  # fmt: skip
REAL_BEACON_PARSED = Beacon(
    name="SC_1",
    synth_port=57110,
    lang_port=57120,
    janus_out_port=5002,
    janus_in_port=5003,
    janus_out_room=1234,
    janus_in_room=1235,
    janus_public_ip="10.0.0.5",
    use_input=False,
    osc_backend_host="10.0.0.1",
    osc_backend_port=7000,
)
MINIMAL = Beacon("p", 57110, 57120, None, None, None, None, None, False, None, None)


def _without(args: list[object], *keys: str) -> list[object]:
    pairs = zip(args[::2], args[1::2], strict=True)
    return [item for key, value in pairs if key not in keys for item in (key, value)]


def _with(args: list[object], key: str, value: object) -> list[object]:
    return [*_without(args, key), key, value]


def _reversed(args: list[object]) -> list[object]:
    pairs = list(zip(args[::2], args[1::2], strict=True))
    return [item for pair in reversed(pairs) for item in pair]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(REAL_BEACON, REAL_BEACON_PARSED, id="as-the-real-class-sends-it"),
        pytest.param(_reversed(REAL_BEACON), REAL_BEACON_PARSED, id="keys-in-another-order"),
        pytest.param(
            _without(REAL_BEACON, "janus_out_room", "janus_in_room", "janus_public_ip"),
            Beacon("SC_1", 57110, 57120, 5002, 5003, None, None, None, False, "10.0.0.1", 7000),
            id="janus-keys-missing-still-valid",
        ),
        pytest.param(
            _with(_with(REAL_BEACON, "janus_out_room", 1234), "janus_in_room", 1235),
            REAL_BEACON_PARSED,
            id="rooms-as-ints",
        ),
        pytest.param(
            _with(REAL_BEACON, "janus_out_room", ""),
            Beacon(
                "SC_1", 57110, 57120, 5002, 5003, None, 1235, "10.0.0.5", False, "10.0.0.1", 7000
            ),
            id="empty-room-string-is-unset",
        ),
        pytest.param(
            [*REAL_BEACON, "future_key", [1, 2], "another", b"blob"],
            REAL_BEACON_PARSED,
            id="unknown-keys-ignored",
        ),
        pytest.param(
            ["name", "p", "synth_port", 57110, "lang_port", 57120], MINIMAL, id="only-required-keys"
        ),
        pytest.param(
            ["name", "p", "synth_port", 57110, "lang_port", 57120, "janus_out_room", None],
            MINIMAL,
            id="nil-value-is-unset",
        ),
        pytest.param(
            ["name", "p", "synth_port", 57110, "lang_port", 57120, "use_input", 1],
            Beacon("p", 57110, 57120, None, None, None, None, None, True, None, None),
            id="use-input-as-int",
        ),
        pytest.param(
            ["name", "p", "synth_port", 57110, "lang_port", 57120, "use_input", True],
            Beacon("p", 57110, 57120, None, None, None, None, None, True, None, None),
            id="use-input-as-bool",
        ),
    ],
)
def test_valid_beacons_parse(args: list[object], expected: Beacon) -> None:
    assert parse_beacon(args) == expected


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (REAL_BEACON[:-1], "odd number of arguments"),
        ([0, "x", *REAL_BEACON], "must be a string key"),
        (_without(REAL_BEACON, "name"), "missing key 'name'"),
        (_without(REAL_BEACON, "synth_port"), "missing key 'synth_port'"),
        (_without(REAL_BEACON, "lang_port"), "missing key 'lang_port'"),
        (_with(REAL_BEACON, "name", 5), "'name' must be a string"),
        (_with(REAL_BEACON, "synth_port", "abc"), "'synth_port' must be an integer"),
        (_with(REAL_BEACON, "synth_port", 57110.0), "'synth_port' must be an integer"),
        (_with(REAL_BEACON, "synth_port", True), "'synth_port' must be an integer"),
        (_with(REAL_BEACON, "lang_port", 0), "'lang_port' is out of range"),
        (_with(REAL_BEACON, "lang_port", 70000), "'lang_port' is out of range"),
        (_with(REAL_BEACON, "janus_out_room", "12a"), "'janus_out_room' must be an integer"),
        (_with(REAL_BEACON, "janus_out_room", "-5"), "'janus_out_room' must be an integer"),
        (_with(REAL_BEACON, "janus_in_room", "9" * 5000), "'janus_in_room' is out of range"),
        (_with(REAL_BEACON, "janus_public_ip", 10), "'janus_public_ip' must be a string"),
        (_with(REAL_BEACON, "use_input", "yes"), "'use_input' must be a boolean"),
        (_with(REAL_BEACON, "osc_backend_port", -1), "'osc_backend_port' is out of range"),
        ([], "missing key 'name'"),
    ],
)
def test_invalid_beacons_are_malformed(args: list[object], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_beacon(args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["uuid", UUID, "status", "RECEIVED"],
            Acknowledgement(uuid.UUID(UUID), "RECEIVED", None),
        ),
        (
            ["return_value", "2", "status", "FINISHED", "uuid", UUID],
            Acknowledgement(uuid.UUID(UUID), "FINISHED", "2"),
        ),
        (
            ["uuid", UUID.upper(), "status", "FINISHED", "return_value", '"a string"'],
            Acknowledgement(uuid.UUID(UUID), "FINISHED", '"a string"'),
        ),
        (
            ["uuid", UUID, "status", "READY", "return_value", None, "extra", 1],
            Acknowledgement(uuid.UUID(UUID), "READY", None),
        ),
    ],
)
def test_valid_acknowledgements_parse(args: list[object], expected: Acknowledgement) -> None:
    assert parse_acknowledgement(args) == expected


@pytest.mark.parametrize(
    "status", ["SUCCESS", "FAILURE", "READY", "FINISHED", "BEACON", "RECEIVED"]
)
def test_every_documented_status_is_accepted(status: str) -> None:
    assert parse_acknowledgement(["uuid", UUID, "status", status]).status == status


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["uuid", "not-a-uuid", "status", "FINISHED"], "'uuid' is not a UUID"),
        (["uuid", 0, "status", "FINISHED"], "'uuid' must be a string"),
        (["status", "FINISHED"], "missing key 'uuid'"),
        (["uuid", UUID], "missing key 'status'"),
        (["uuid", UUID, "status", "DONE"], "not a known acknowledgement status"),
        (["uuid", UUID, "status", "finished"], "not a known acknowledgement status"),
        (["uuid", UUID, "status", 3], "'status' must be a string"),
        (["uuid", UUID, "status", "FINISHED", "return_value", 2], "'return_value' must be a str"),
        (["uuid", UUID, "status"], "odd number of arguments"),
    ],
)
def test_invalid_acknowledgements_are_malformed(args: list[object], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_acknowledgement(args)


ACTION: list[object] = [
    "protocol_version", "0.1", "action", "code", "password", "s3cret", "cmd", "Ndef(\\a).play",
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (ACTION, None),
        ([*ACTION, "target", 3], 3),
        ([*ACTION, "target", "1234"], 1234),
        ([*ACTION, "target", None], None),
    ],
)
def test_valid_remote_actions_parse(args: list[object], target: int | None) -> None:
    assert parse_remote_action(args) == RemoteAction(
        "0.1", "code", "s3cret", "Ndef(\\a).play", target
    )


def test_speak_is_a_remote_action() -> None:
    assert parse_remote_action(_with(ACTION, "action", "speak")).action == "speak"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (_with(ACTION, "protocol_version", "0.2"), "'protocol_version' must be '0.1'"),
        (_with(ACTION, "protocol_version", 0.1), "'protocol_version' must be a string"),
        (_without(ACTION, "protocol_version"), "missing key 'protocol_version'"),
        (_with(ACTION, "action", "shell"), "'action' must be 'code' or 'speak'"),
        (_without(ACTION, "password"), "missing key 'password'"),
        (_with(ACTION, "password", 1234), "'password' must be a string"),
        (_without(ACTION, "cmd"), "missing key 'cmd'"),
        (_with(ACTION, "target", "all"), "'target' must be an integer"),
        (ACTION[:-1], "odd number of arguments"),
    ],
)
def test_invalid_remote_actions_are_malformed(args: list[object], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_remote_action(args)


def test_remote_action_repr_hides_the_password() -> None:
    action = parse_remote_action(ACTION)
    assert "s3cret" not in repr(action)
    assert "s3cret" not in str(action)
    assert action.password == "s3cret"


def test_malformed_reasons_do_not_echo_values() -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_remote_action(_with(ACTION, "protocol_version", "s3cret"))
    assert "s3cret" not in repr(caught.value)


@pytest.mark.parametrize(
    ("given", "expected", "matches"),
    [
        ("s3cret", "s3cret", True),
        ("s3cret", "s3cre", False),
        ("s3cre", "s3cret", False),
        ("S3CRET", "s3cret", False),
        ("", "s3cret", False),
        ("", "", False),  # an empty configured password turns remote actions off
        ("pässwört", "pässwört", True),
    ],
)
def test_password_matches(given: str, expected: str, matches: bool) -> None:
    assert password_matches(given, expected) is matches


# --- datagram codec -------------------------------------------------------------------


def test_encoding_round_trips_and_booleans_are_type_tags() -> None:
    args = ["s", 1, -2, 2**40, 1.5, True, False, "ü"]
    data = encode_message("/x", args)
    assert b",siihfTFs\0" in data
    assert decode_message(data) == ("/x", args)
    assert OscMessage(data).params == args  # python-osc reads it the same way


def test_decoding_reads_every_type_python_osc_writes() -> None:
    builder = OscMessageBuilder("/all")
    for value, tag in [(1.25, "d"), (b"\x01\x02\x03", "b"), (None, "N"), (7, "i"), ("", "s")]:
        builder.add_arg(value, tag)
    assert decode_message(builder.build().dgram) == ("/all", [1.25, b"\x01\x02\x03", None, 7, ""])


def test_a_message_without_type_tags_has_no_arguments() -> None:
    assert decode_message(b"/beacon\0") == ("/beacon", [])


GOOD = encode_message("/acknowledge", ["uuid", UUID, "status", "FINISHED"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not an OSC message"),
        (b"hello", "not an OSC message"),
        (b"#bundle\0" + bytes(8), "bundles are not part of the contract"),
        (b"/beacon", "unterminated OSC string"),
        (b"/beacon\0\0", "padding is cut off"),
        (b"/beacon\0sii\0", "does not start with ','"),
        (b"/x\0\0,[]\0", "unsupported OSC type tag"),
        (b"/x\0\0,c\0\0abcd", "unsupported OSC type tag"),
        (b"/x\0\0,i\0\0\0\0", "ends inside an argument"),
        (b"/x\0\0,i\0\0" + struct.pack(">i", 1) + b"\0\0\0\0", "trailing bytes"),
        (b"/\xff\xfe\0,\0\0\0", "address is not UTF-8"),
        (b"/x\0\0,b\0\0" + struct.pack(">i", 100) + b"abcd", "blob is cut off"),
        (b"/x\0\0,b\0\0" + struct.pack(">i", -4), "blob is cut off"),
        (GOOD[:-4], "unterminated OSC string"),
        (GOOD[:-2], "padding is cut off"),
        (GOOD + b"\0\0\0\0", "trailing bytes"),
    ],
)
def test_malformed_datagrams_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        decode_message(data)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"gr\xfcn", "gr\ufffdn"),
        ("grün".encode()[:-2], "gr\ufffd"),
        ("gr\ud800n".encode("utf-8", "surrogatepass"), "gr\ufffd\ufffd\ufffdn"),
    ],
    ids=["latin-1", "utf-8-cut-short", "lone-surrogate"],
)
def test_free_text_that_is_not_utf8_is_decoded_leniently_and_marked(raw: bytes, decoded: str):
    address, args = decode_message(acknowledge_datagram(UUID, raw))
    ack = parse_acknowledgement(args)
    assert (address, ack.uuid, ack.status) == ("/acknowledge", uuid.UUID(UUID), "FINISHED")
    assert ack.return_value == decoded and type(ack.return_value) is str
    assert ack.return_value_replaced


def test_utf8_return_values_are_not_marked():
    ack = parse_acknowledgement(decode_message(acknowledge_datagram(UUID, "grün".encode()))[1])
    assert ack.return_value == "grün" and not ack.return_value_replaced


@pytest.mark.parametrize(
    "args",
    [
        [b"uuid", b"\xff" + UUID.encode()[1:], b"status", b"FINISHED"],
        [b"uuid", UUID.encode(), b"status", b"FINISHE\xc4"],
        [b"uu\xefd", UUID.encode(), b"status", b"FINISHED"],
    ],
    ids=["uuid", "status", "key"],
)
def test_keys_uuids_and_statuses_stay_strict(args: list[bytes]):
    datagram = (
        osc_string(b"/acknowledge")
        + osc_string(b"," + b"s" * len(args))
        + b"".join(osc_string(arg) for arg in args)
    )
    _address, decoded = decode_message(datagram)
    with pytest.raises(MalformedMessage, match="UTF-8"):
        parse_acknowledgement(decoded)
