"""Settings: read from GENCASTER_* variables and .env, cast and checked, secrets never shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sanic import Sanic

from gencaster.app import create_app
from gencaster.settings import Settings, SettingsError


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No GENCASTER_* variable from outside, and a working directory without a .env."""
    for key in list(os.environ):
        if key.startswith("GENCASTER_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_variables_are_cast_to_each_settings_type(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_PORT", "9001")
    environ.setenv("GENCASTER_BEACON_WINDOW_S", "2.5")
    environ.setenv("GENCASTER_DATA_DIR", "/srv/gencaster")
    environ.setenv("GENCASTER_CORS_ORIGINS", "http://editor.example, https://app.example:8443")
    settings = Settings.from_env()
    assert settings.port == 9001
    assert settings.beacon_window_s == 2.5
    assert settings.data_dir == Path("/srv/gencaster")
    assert settings.cors_origins == ("http://editor.example", "https://app.example:8443")
    # What lives in the data dir follows it unless set apart.
    assert settings.database_url == "sqlite:///srv/gencaster/gencaster.sqlite3"
    assert settings.media_root == Path("/srv/gencaster/media")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("YES", True), ("on", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False)],
    ],
)
def test_booleans_read_the_usual_words(
    environ: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    environ.setenv("GENCASTER_COOKIE_SECURE", raw)
    assert Settings.from_env().cookie_secure is expected


def test_an_empty_variable_means_the_default(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_COOKIE_SECURE", "")
    environ.setenv("GENCASTER_PORT", "")
    settings = Settings.from_env()
    assert (settings.cookie_secure, settings.port) == (False, 8081)


def test_the_environment_wins_over_the_env_file(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("GENCASTER_PORT=9100\nGENCASTER_SESSION_DAYS=3\n")
    environ.setenv("GENCASTER_PORT", "9200")
    settings = Settings.from_env()
    assert (settings.port, settings.session_days) == (9200, 3)
    assert Settings.from_env(env_file=None).session_days == 14


@pytest.mark.parametrize(
    ("key", "raw", "reason"),
    [
        ("GENCASTER_SESSION_DAYS", "-3", "greater than or equal to 1"),
        ("GENCASTER_SESSION_DAYS", "0", "greater than or equal to 1"),
        ("GENCASTER_PORT", "70000", "less than or equal to 65535"),
        ("GENCASTER_PORT", "eighty", "valid integer"),
        ("GENCASTER_OSC_PORT", "-1", "greater than or equal to 0"),
        ("GENCASTER_COOKIE_SECURE", "maybe", "valid boolean"),
        ("GENCASTER_DATABASE_URL", "mysql://db.example/gencaster", "scheme"),
        ("GENCASTER_REDIS_URL", "http://cache.example", "scheme"),
        ("GENCASTER_TTS_BACKEND", "festival", "choose one of espeak, google"),
        ("GENCASTER_TTS_LANGUAGE", "de; rm", "should match pattern"),
        ("GENCASTER_CORS_ORIGINS", "editor.example", "needs a scheme"),
        ("GENCASTER_CORS_ORIGINS", "https://editor.example/app", "is not an origin"),
        ("GENCASTER_OSC_ALLOWED_NETWORKS", "10.0.0.0/33", "no network"),
        ("GENCASTER_MEDIA_URL", "media", "a path"),
        ("GENCASTER_WORKERS", "0", "greater than or equal to 1"),
        ("GENCASTER_INSTRUCTION_TIMEOUT_S", "0", "greater than 0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    environ: pytest.MonkeyPatch, key: str, raw: str, reason: str
) -> None:
    environ.setenv(key, raw)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    message = str(refused.value)
    assert message.startswith(key), message
    assert reason in message
    assert "\n" not in message


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(SettingsError, match="GENCASTER_SESSION_DAYS=0"):
        Settings(session_days=0)
    with pytest.raises(SettingsError, match="GENCASTER_PORT=0"):
        Settings().with_changes(port=0)
    with pytest.raises(SettingsError, match="no_such_setting"):
        Settings(no_such_setting=1)  # type: ignore[call-arg]


def test_settings_cannot_change_after_start_up() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]


SECRETS = {
    "secret_key": "sk-5f3a9c",
    "osc_password": "osc-pw-77",
    "database_url": "postgres://gencaster:db-pw-42@127.0.0.1/gencaster",
    "redis_url": "redis://:redis-pw-13@127.0.0.1:6379/0",
}


def test_repr_and_str_never_show_a_secret() -> None:
    settings = Settings(**SECRETS)  # type: ignore[arg-type]
    for text in (repr(settings), str(settings), f"{settings!r}"):
        for secret in ("sk-5f3a9c", "osc-pw-77", "db-pw-42", "redis-pw-13"):
            assert secret not in text
        assert "secret_key='***'" in text
    assert "secret_key=''" in repr(Settings())  # an unset secret says so


def test_a_refused_secret_is_named_but_not_shown(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_DATABASE_URL", "mysql://gencaster:db-pw-42@db.example/gencaster")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert "GENCASTER_DATABASE_URL" in str(refused.value)
    assert "db-pw-42" not in str(refused.value)


def test_a_long_value_is_cut_short_in_the_message(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("GENCASTER_TTS_BACKEND", "x" * 10_000)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert len(str(refused.value)) < 200


def test_without_a_key_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key = settings.resolved_secret_key()
    assert len(key) >= 32
    path = tmp_path / "data" / "secret_key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A restart, or another process on the host, reads the same key.
    assert Settings(data_dir=tmp_path / "data").resolved_secret_key() == key
    assert Settings(data_dir=tmp_path / "other").resolved_secret_key() != key


def test_a_configured_key_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="configured-key")
    assert settings.resolved_secret_key() == "configured-key"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("language", ["zz", "klingon"])
def test_an_app_is_not_built_for_a_language_the_speech_engine_lacks(
    tmp_path: Path, language: str
) -> None:
    # However the app is started (serve, a worker, sanic --factory, a test), not at the
    # first markdown cell in front of a listener.
    settings = Settings(data_dir=tmp_path, tts_language=language)
    with pytest.raises(SettingsError) as refused:
        create_app(settings)
    message = str(refused.value)
    assert message.startswith(f"GENCASTER_TTS_LANGUAGE={language}: "), message
    assert repr(language) in message and "\n" not in message


def test_an_app_is_built_for_a_language_the_speech_engine_has(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, tts_language="en-gb"))
    Sanic.unregister_app(app)
