"""The listener-facing dataclasses check what sandboxed code puts into them."""

from __future__ import annotations

import pytest

from gencaster.engine.frontend import (
    MAX_BUTTONS,
    MAX_CONTENT_ITEMS,
    MAX_SHORT_CHARS,
    MAX_TEXT_CHARS,
    Button,
    ButtonType,
    CallbackAction,
    Checkbox,
    Dialog,
    Input,
    Text,
)


def test_enum_values_are_their_wire_names() -> None:
    assert [member.value for member in ButtonType] == [
        "DEFAULT", "PRIMARY", "SUCCESS", "WARNING", "INFO", "DANGER",
    ]  # fmt: skip
    assert [member.value for member in CallbackAction] == [
        "ACTIVATE_GPS_STREAMING", "SEND_VARIABLES", "SEND_VARIABLE",
    ]  # fmt: skip
    assert ButtonType.PRIMARY == "PRIMARY"


def test_a_full_dialog_keeps_its_fields() -> None:
    dialog = Dialog(
        title="Where are you?",
        content=[
            Text("Tell us"),
            Input(key="city", label="City", placeholder="Berlin"),
            Checkbox(key="gps", label="Use GPS", callback_actions=["ACTIVATE_GPS_STREAMING"]),
        ],
        buttons=[Button.ok(), Button.cancel(), Button("Later", value="later", key="when")],
    )
    assert dialog.content[2].callback_actions == [CallbackAction.ACTIVATE_GPS_STREAMING]
    ok, cancel, later = dialog.buttons
    assert (ok.button_type, ok.callback_actions) == (
        ButtonType.PRIMARY,
        [CallbackAction.SEND_VARIABLES],
    )
    assert (cancel.button_type, cancel.callback_actions) == (ButtonType.WARNING, [])
    assert (later.text, later.value, later.key, later.button_type) == (
        "Later",
        "later",
        "when",
        ButtonType.DEFAULT,
    )


def test_button_types_accept_names() -> None:
    assert Button("x", button_type="DANGER").button_type is ButtonType.DANGER


@pytest.mark.parametrize(
    "build",
    [
        lambda: Text(5),
        lambda: Text(None),
        lambda: Input(key=1),
        lambda: Checkbox(key="k", checked="yes"),
        lambda: Button(text=b"bytes"),
        lambda: Dialog(title="t", content="not a list"),
        lambda: Dialog(title="t", content=[Button("not content")]),
        lambda: Dialog(title="t", buttons=[Text("not a button")]),
        lambda: Dialog(title=["t"]),
        lambda: Checkbox(key="k", callback_actions="SEND_VARIABLE"),
    ],
)
def test_wrong_types_raise_type_error(build: object) -> None:
    with pytest.raises(TypeError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Text("x" * (MAX_TEXT_CHARS + 1)),
        lambda: Dialog(title="x" * (MAX_SHORT_CHARS + 1)),
        lambda: Dialog(title="t", content=[Text("a")] * (MAX_CONTENT_ITEMS + 1)),
        lambda: Dialog(title="t", buttons=[Button("b")] * (MAX_BUTTONS + 1)),
        lambda: Button("b", button_type="HUGE"),
        lambda: Button("b", callback_actions=["SELF_DESTRUCT"]),
        lambda: Button("b", callback_actions=["SEND_VARIABLE"] * 4),
    ],
)
def test_oversized_or_unknown_values_raise_value_error(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
