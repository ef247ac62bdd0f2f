"""The documented settings of stream points and their instructions, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gencaster.settings import Settings, SettingsError


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("GENCASTER_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_suit_the_real_class_beaconing_every_five_seconds(
    environ: pytest.MonkeyPatch,
) -> None:
    settings = Settings.from_env()
    assert settings.beacon_window_s == 15.0
    assert settings.instruction_timeout_s == 300.0
    assert settings.instruction_warning_s == 5.0


def test_each_is_read_from_its_variable(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_BEACON_WINDOW_S", "12.5")
    environ.setenv("GENCASTER_INSTRUCTION_TIMEOUT_S", "30")
    environ.setenv("GENCASTER_INSTRUCTION_WARNING_S", "0")
    settings = Settings.from_env()
    assert settings.beacon_window_s == 12.5
    assert settings.instruction_timeout_s == 30.0
    assert settings.instruction_warning_s == 0.0


def test_a_negative_warning_time_is_refused(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_INSTRUCTION_WARNING_S", "-1")
    with pytest.raises(SettingsError, match="INSTRUCTION_WARNING_S"):
        Settings.from_env()
