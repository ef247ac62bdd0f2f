"""Random OSC datagrams to the server's UDP port: dropped or handled, never a crash.

The datagrams are built byte by byte, so they can hold whatever a sender puts on the
wire, text that is not UTF-8 included; python-osc builds only what it can read back.
"""

from __future__ import annotations

import socket
import struct

from hypothesis import given
from hypothesis import strategies as st

from tests.flows.fuzz.conftest import FUZZ, FuzzServer
from tests.support.osc import osc_blob, osc_datagram, osc_string

Arg = tuple[bytes, bytes]  # an OSC type tag and the argument's encoded bytes


def _string(raw: bytes) -> Arg:
    return b"s", osc_string(raw)


ADDRESSES = st.sampled_from(
    [b"/beacon", b"/acknowledge", b"/remote/action", b"/instruction", b"/x", b"/\xff"]
)
KEYS = st.sampled_from(
    [
        "name", "synth_port", "lang_port", "janus_out_port", "janus_in_room", "use_input",
        "uuid", "status", "return_value", "protocol_version", "action", "password", "cmd",
        "target",
    ]
).map(str.encode)  # fmt: skip
# The bytes of OSC strings: an OSC string ends at its first NUL, so none holds one (the
# raw datagrams below carry NULs anywhere). Lone surrogates are encoded as the invalid
# UTF-8 a careless encoder writes for them, and raw bytes are any other invalid text.
# The server's OSC password is never sent: a remote action would then send code to
# whatever listens on the ports the fuzzed beacons announce.
STRING_BYTES = st.one_of(
    st.text(st.characters(exclude_characters="\0"), max_size=30).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    ),
    st.binary(max_size=30).map(lambda raw: raw.replace(b"\0", b"")),
    st.sampled_from(["FINISHED", "READY", "0.1", "code", "speak"]).map(str.encode),
    st.uuids().map(lambda value: str(value).encode()),
)
STRINGS = STRING_BYTES.map(_string)
PORTS = st.integers(min_value=1, max_value=65535).map(lambda port: (b"i", struct.pack(">i", port)))
VALUES: st.SearchStrategy[Arg] = st.one_of(
    STRINGS,
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(
        lambda value: (b"i", struct.pack(">i", value))
    ),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(
        lambda value: (b"h", struct.pack(">q", value))
    ),
    st.floats(allow_nan=True, width=32).map(lambda value: (b"f", struct.pack(">f", value))),
    st.floats(allow_nan=True).map(lambda value: (b"d", struct.pack(">d", value))),
    st.sampled_from([(b"T", b""), (b"F", b""), (b"N", b"")]),
    st.binary(max_size=20).map(lambda raw: (b"b", osc_blob(raw))),
)
STRUCTURED = st.builds(
    lambda address, pairs: osc_datagram(address, [arg for pair in pairs for arg in pair]),
    ADDRESSES,
    st.lists(
        st.tuples(st.one_of(KEYS.map(_string), STRINGS), VALUES),
        max_size=8,
    ),
)


def _fixed(address: bytes, **fields: st.SearchStrategy[Arg]) -> st.SearchStrategy[bytes]:
    """Messages with the keys ``address`` requires, so odd text reaches the handlers."""

    def build(values: dict[str, Arg]) -> bytes:
        pairs = [(_string(key.encode()), value) for key, value in values.items()]
        return osc_datagram(address, [arg for pair in pairs for arg in pair])

    return st.fixed_dictionaries(fields).map(build)


def _constant(text: str) -> st.SearchStrategy[Arg]:
    return st.just(_string(text.encode()))


WELL_FORMED = st.one_of(
    _fixed(b"/beacon", name=STRINGS, synth_port=PORTS, lang_port=PORTS),
    _fixed(
        b"/acknowledge",
        uuid=st.uuids().map(lambda value: _string(str(value).encode())),
        status=st.sampled_from(["FINISHED", "READY", "SUCCESS"]).flatmap(_constant),
        return_value=STRINGS,
    ),
    _fixed(
        b"/remote/action",
        protocol_version=_constant("0.1"),
        action=st.sampled_from(["code", "speak"]).flatmap(_constant),
        password=STRINGS,
        cmd=STRINGS,
    ),
)
DATAGRAMS = st.one_of(
    WELL_FORMED,
    STRUCTURED,
    st.builds(osc_datagram, ADDRESSES, st.lists(VALUES, max_size=3)),  # odd or no pairs
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
