"""The documented settings of stream points and their instructions, read from the environment."""

from __future__ import annotations

from gencaster.settings import Settings


def test_defaults_suit_the_real_class_beaconing_every_five_seconds() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.beacon_window_s == 15.0
    assert settings.instruction_timeout_s == 300.0
    assert settings.instruction_warning_s == 5.0


def test_each_is_read_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "GENCASTER_BEACON_WINDOW_S": "12.5",
            "GENCASTER_INSTRUCTION_TIMEOUT_S": "30",
            "GENCASTER_INSTRUCTION_WARNING_S": "2",
        },
        env_file=None,
    )
    assert settings.beacon_window_s == 12.5
    assert settings.instruction_timeout_s == 30.0
    assert settings.instruction_warning_s == 2.0
