"""What a listener's device shows: dialogs with texts, inputs, checkboxes and buttons.

Plain dataclasses, free of any framework: the GraphQL layer maps them to its types.
Sandboxed cell code builds them, so every field is checked on construction: wrong types
raise ``TypeError``, oversized values ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

MAX_TEXT_CHARS = 10_000
MAX_SHORT_CHARS = 500
MAX_CONTENT_ITEMS = 50
MAX_BUTTONS = 10


class ButtonType(StrEnum):
    """How a button looks on the listener's device."""

    DEFAULT = "DEFAULT"
    PRIMARY = "PRIMARY"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    INFO = "INFO"
    DANGER = "DANGER"


class CallbackAction(StrEnum):
    """What the listener's device does when a button or checkbox is used."""

    ACTIVATE_GPS_STREAMING = "ACTIVATE_GPS_STREAMING"
    SEND_VARIABLES = "SEND_VARIABLES"
    SEND_VARIABLE = "SEND_VARIABLE"


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value


def _members(values: object, enum: type[Enum], name: str) -> list[Any]:
    """Accept enum members or their names; keep the list short."""
    if not isinstance(values, list | tuple):
        raise TypeError(f"{name} must be a list")
    if len(values) > len(enum):
        raise ValueError(f"{name} has more than {len(enum)} entries")
    try:
        return [enum(value) for value in values]
    except ValueError as exc:
        raise ValueError(f"{name} holds an unknown value") from exc


def _items(values: object, kinds: tuple[type, ...], name: str, limit: int) -> list[Any]:
    if not isinstance(values, list | tuple):
        raise TypeError(f"{name} must be a list")
    if len(values) > limit:
        raise ValueError(f"{name} has more than {limit} entries")
    for value in values:
        if not isinstance(value, kinds):
            allowed = ", ".join(kind.__name__ for kind in kinds)
            raise TypeError(f"{name} may only hold {allowed}, not {type(value).__name__}")
    return list(values)


@dataclass
class Text:
    """A paragraph of text."""

    text: str

    def __post_init__(self) -> None:
        self.text = _text(self.text, "text", MAX_TEXT_CHARS)


@dataclass
class Input:
    """A text field whose value the device sends back as the stream variable ``key``."""

    key: str
    label: str = ""
    placeholder: str = ""

    def __post_init__(self) -> None:
        self.key = _text(self.key, "key", MAX_SHORT_CHARS)
        self.label = _text(self.label, "label", MAX_SHORT_CHARS)
        self.placeholder = _text(self.placeholder, "placeholder", MAX_SHORT_CHARS)


@dataclass
class Checkbox:
    """A checkbox whose state the device sends back as the stream variable ``key``."""

    key: str
    label: str = ""
    checked: bool = False
    callback_actions: list[CallbackAction] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = _text(self.key, "key", MAX_SHORT_CHARS)
        self.label = _text(self.label, "label", MAX_SHORT_CHARS)
        if not isinstance(self.checked, bool):
            raise TypeError("checked must be a bool")
        self.callback_actions = _members(self.callback_actions, CallbackAction, "callback_actions")


@dataclass
class Button:
    """A button; ``key``/``value`` become a stream variable when the device sends variables."""

    text: str
    value: str = ""
    key: str = ""
    button_type: ButtonType = ButtonType.DEFAULT
    callback_actions: list[CallbackAction] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.text = _text(self.text, "text", MAX_SHORT_CHARS)
        self.value = _text(self.value, "value", MAX_SHORT_CHARS)
        self.key = _text(self.key, "key", MAX_SHORT_CHARS)
        try:
            self.button_type = ButtonType(self.button_type)
        except ValueError as exc:
            raise ValueError("button_type is not a ButtonType") from exc
        self.callback_actions = _members(self.callback_actions, CallbackAction, "callback_actions")

    @classmethod
    def ok(
        cls,
        text: str = "OK",
        value: str = "ok",
        key: str = "ok",
        callback_actions: Iterable[CallbackAction] = (CallbackAction.SEND_VARIABLES,),
    ) -> Button:
        """The usual confirming button: sends the dialog's variables."""
        return cls(text, value, key, ButtonType.PRIMARY, list(callback_actions))

    @classmethod
    def cancel(
        cls,
        text: str = "Cancel",
        value: str = "cancel",
        key: str = "cancel",
        callback_actions: Iterable[CallbackAction] = (),
    ) -> Button:
        """The usual dismissing button: sends nothing unless told to."""
        return cls(text, value, key, ButtonType.WARNING, list(callback_actions))


@dataclass
class Dialog:
    """A pop-up on the listener's device."""

    title: str
    content: list[Text | Input | Checkbox] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.title = _text(self.title, "title", MAX_SHORT_CHARS)
        self.content = _items(self.content, (Text, Input, Checkbox), "content", MAX_CONTENT_ITEMS)
        self.buttons = _items(self.buttons, (Button,), "buttons", MAX_BUTTONS)
