"""Engine events as broker messages: what another process's listeners get back."""

from __future__ import annotations

import json

from gencaster.engine.engine import DeadEnd, DialogShown
from gencaster.engine.frontend import (
    Button,
    ButtonType,
    CallbackAction,
    Checkbox,
    Dialog,
    Input,
    Text,
)
from gencaster.streaming.relay import decode_event, encode_event


def _over_the_wire(fields: dict) -> dict:
    return json.loads(json.dumps(fields))


async def test_a_dialog_arrives_as_it_was_shown():
    dialog = Dialog(
        "Where to?",
        [
            Text("Choose a door"),
            Input(key="name", label="Your name", placeholder="…"),
            Checkbox(
                key="gps",
                label="Share location",
                checked=True,
                callback_actions=[CallbackAction.ACTIVATE_GPS_STREAMING],
            ),
        ],
        [Button.ok(), Button("Left", "left", "door", ButtonType.INFO), Button.cancel()],
    )
    event = await decode_event(_over_the_wire(encode_event(DialogShown(dialog))))
    assert event == DialogShown(dialog)


async def test_a_dead_end_keeps_its_reason():
    event = await decode_event(_over_the_wire(encode_event(DeadEnd("The story has ended"))))
    assert event == DeadEnd("The story has ended")


async def test_a_malformed_or_oversized_message_is_dropped():
    assert await decode_event({"kind": "dialog", "title": "x"}) is None
    too_long = {"kind": "dialog", "title": "x" * 10_000, "content": [], "buttons": []}
    assert await decode_event(too_long) is None
    assert (
        await decode_event({"kind": "dialog", "title": "t", "content": [{}], "buttons": []}) is None
    )
    assert await decode_event({"kind": "unknown"}) is None
