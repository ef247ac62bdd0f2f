"""OSC over UDP between the server and the SuperCollider stream points (OSC.md).

Framework-free: ``OscServer`` parses the stream points' datagrams and calls an
``OscHandler`` (the database side implements it), ``OscClient`` sends instructions,
and ``FakeStreamPoint`` is a real UDP peer that answers like the SuperCollider class.
"""

from __future__ import annotations

from .client import OscClient
from .fake_point import FakeStreamPoint, ReceivedInstruction, run_fake_stream_point
from .messages import (
    Acknowledgement,
    Beacon,
    MalformedMessage,
    RemoteAction,
    parse_acknowledgement,
    parse_beacon,
    parse_remote_action,
    password_matches,
)
from .server import OscHandler, OscServer

__all__ = [
    "Acknowledgement",
    "Beacon",
    "FakeStreamPoint",
    "MalformedMessage",
    "OscClient",
    "OscHandler",
    "OscServer",
    "ReceivedInstruction",
    "RemoteAction",
    "parse_acknowledgement",
    "parse_beacon",
    "parse_remote_action",
    "password_matches",
    "run_fake_stream_point",
]
