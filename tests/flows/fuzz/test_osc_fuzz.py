"""Random OSC datagrams to the server's UDP port: dropped or handled, never a crash."""

from __future__ import annotations

import socket
import struct

from hypothesis import given
from hypothesis import strategies as st

from gencaster.streaming.osc.messages import encode_message
from tests.flows.fuzz.conftest import FUZZ, FuzzServer
from tests.support.osc import osc_string

ADDRESSES = st.sampled_from(["/beacon", "/acknowledge", "/remote/action", "/instruction", "/x"])
KEYS = st.sampled_from(
    [
        "name", "synth_port", "lang_port", "janus_out_port", "janus_in_room", "use_input",
        "uuid", "status", "return_value", "protocol_version", "action", "password", "cmd",
        "target",
    ]
)  # fmt: skip
VALUES = st.one_of(
    # An OSC string ends at its first NUL, and python-osc's builder reads back what it
    # built, so text with a NUL cannot be built; raw strings below carry any bytes.
    st.text(st.characters(exclude_characters="\0"), max_size=30),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.floats(allow_nan=True, width=32),
    st.booleans(),
    st.none(),
    st.binary(min_size=1, max_size=20),  # OSC blobs cannot be empty
    st.sampled_from(["FINISHED", "READY", "0.1", "code", "speak", "fuzz-secret"]),
    st.uuids().map(str),
)
STRUCTURED = st.builds(
    lambda address, pairs: encode_message(address, [item for pair in pairs for item in pair]),
    ADDRESSES,
    st.lists(st.tuples(KEYS, VALUES), max_size=8),
)
RAW_STRINGS = st.builds(
    lambda address, raw: osc_string(address) + osc_string(b",s") + osc_string(raw),
    st.sampled_from([b"/acknowledge", b"/beacon", b"/\xff"]),
    st.binary(max_size=30).map(lambda raw: raw.replace(b"\0", b"")),
)
DATAGRAMS = st.one_of(
    STRUCTURED,
    RAW_STRINGS,
    st.binary(max_size=200),
    st.binary(max_size=40).map(lambda raw: b"/acknowledge\0\0\0\0," + raw),
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(
        lambda size: b"/x\0\0,b\0\0" + struct.pack(">i", size)
    ),
)


@FUZZ
@given(datagrams=st.lists(DATAGRAMS, min_size=1, max_size=20))
def test_random_datagrams_do_not_hurt_the_server(fuzz_server: FuzzServer, datagrams: list[bytes]):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for datagram in datagrams:
            udp.sendto(datagram[:65000], ("127.0.0.1", fuzz_server.osc_port))
    fuzz_server.assert_alive_and_clean()
