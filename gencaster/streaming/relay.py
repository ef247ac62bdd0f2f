"""Engine events as broker messages, for listeners on processes that do not run the engine.

The process holding a stream's claim publishes each event of its walk on the stream's
events channel; every other process with listeners of that stream turns the messages
back into events. Messages stay small: an instruction travels as its uuid and is read
back from the database, a dialog as its fields (rebuilt, and so checked, on arrival).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from gencaster.engine.engine import DeadEnd, DialogShown, EngineEvent, InstructionSent
from gencaster.engine.frontend import Button, Checkbox, Dialog, Input, Text
from models import StreamInstruction

logger = logging.getLogger(__name__)

_CONTENT: dict[str, type[Text | Input | Checkbox]] = {
    "Text": Text,
    "Input": Input,
    "Checkbox": Checkbox,
}


def encode_event(event: EngineEvent) -> dict[str, Any]:
    """The message fields of ``event`` (``kind`` plus what it needs)."""
    if isinstance(event, InstructionSent):
        return {"kind": "instruction", "instruction": str(event.instruction.uuid)}
    if isinstance(event, DialogShown):
        dialog = event.dialog
        return {
            "kind": "dialog",
            "title": dialog.title,
            "content": [{"type": type(item).__name__, **asdict(item)} for item in dialog.content],
            "buttons": [asdict(button) for button in dialog.buttons],
        }
    return {"kind": "dead_end", "reason": event.reason}


async def decode_event(data: dict[str, Any]) -> EngineEvent | None:
    """The event a message carries; None (logged) when it makes no sense here."""
    kind = data.get("kind")
    try:
        if kind == "instruction":
            row = await StreamInstruction.get_or_none(uuid=data["instruction"])
            return None if row is None else InstructionSent(row)
        if kind == "dialog":
            content = [_content(item) for item in data["content"]]
            buttons = [Button(**button) for button in data["buttons"]]
            return DialogShown(Dialog(data["title"], content, buttons))
        if kind == "dead_end":
            return DeadEnd(str(data["reason"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    logger.warning("Dropped a malformed stream event (%.40s)", kind)
    return None


def _content(fields: dict[str, Any]) -> Text | Input | Checkbox:
    kind = _CONTENT[fields["type"]]
    return kind(**{key: value for key, value in fields.items() if key != "type"})
