"""Random message sequences on both subprotocols: the server answers or closes, never hangs.

Each example opens a socket, sends a random sequence of frames (valid and broken
protocol messages, garbage, binary), and reads until the server goes quiet or closes.
Afterwards the socket is closed by the client; the server must complete that handshake
in time, and a fresh socket must still be acknowledged.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.flows.fuzz.conftest import FUZZ, FuzzServer

QUIET = 0.1  # seconds without a frame before the next one is sent
CLOSE_TIMEOUT = 10.0
QUERIES = st.sampled_from(
    [
        "{ __typename }",
        "{ isAuthenticated { username } }",
        "subscription { streams { uuid } }",
        "subscription($g: UUID!) { streamInfo(graphUuid: $g) { __typename } }",
        "subscription($g: UUID!) { graph(graphUuid: $g) { uuid } }",
        "mutation { authLogout }",
        "{ graphs { uuid",
        "query { " + "graphs { nodes { " * 5 + "uuid" + " } }" * 5 + " }",
    ]
)
IDS = st.one_of(st.sampled_from(["1", "2", ""]), st.text(max_size=8), st.integers(), st.none())
PAYLOADS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"query": QUERIES},
        optional={"variables": st.dictionaries(st.text(max_size=5), st.uuids().map(str))},
    ),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
    st.text(max_size=20),
)
TYPES = st.sampled_from(
    [
        "connection_init",
        "subscribe",
        "start",
        "complete",
        "stop",
        "ping",
        "pong",
        "ka",
        "connection_terminate",
        "next",
        "unknown",
    ]
)
MESSAGES = st.one_of(
    st.fixed_dictionaries({"type": TYPES}, optional={"id": IDS, "payload": PAYLOADS}).map(
        json.dumps
    ),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.just("[" * 1000 + "]" * 1000),
)


def _drain(socket) -> bool:  # type: ignore[no-untyped-def]
    """Read until the server is quiet; False once it has closed."""
    try:
        while True:
            socket.recv(timeout=QUIET)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False


@FUZZ
@given(
    protocol=st.sampled_from(["graphql-transport-ws", "graphql-ws"]),
    messages=st.lists(MESSAGES, min_size=1, max_size=8),
    staff=st.booleans(),
)
def test_random_message_sequences_end_cleanly(
    fuzz_server: FuzzServer, protocol: str, messages: list[str | bytes], staff: bool
):
    headers = {"Cookie": f"gencaster_session={fuzz_server.staff_cookie}"} if staff else {}
    with connect(
        fuzz_server.ws_url,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers,
        close_timeout=CLOSE_TIMEOUT,
        open_timeout=30,
    ) as socket:
        for message in messages:
            try:
                socket.send(message)
            except ConnectionClosed:
                break
            if not _drain(socket):
                break
        socket.close()
        # The closing handshake completed in time: the server did not hang.
        assert socket.close_code is not None
    with connect(fuzz_server.ws_url, subprotocols=[protocol], open_timeout=30) as fresh:  # type: ignore[list-item]
        fresh.send(json.dumps({"type": "connection_init"}))
        reply = json.loads(fresh.recv(timeout=30))
        while reply["type"] == "ka":
            reply = json.loads(fresh.recv(timeout=30))
        assert reply["type"] == "connection_ack"


def test_the_server_logged_no_traceback(fuzz_server: FuzzServer):
    fuzz_server.assert_alive_and_clean()
