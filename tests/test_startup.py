"""``gencaster serve`` refuses, at start-up, what cannot work: one line, the setting named.

Real processes: the exit code and standard error are what an operator (or systemd) sees.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT, server_env
from tests.support.server import free_port

START_TIMEOUT = 120  # a hang is a failure; a slow machine is not


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gencaster.cli", "serve", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )


def assert_refused(done: subprocess.CompletedProcess[str], key: str) -> str:
    """Exit 2 with one ``Configuration error`` line naming ``key``, and no traceback."""
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    [line] = [line for line in done.stderr.splitlines() if "Configuration error" in line]
    assert key in line, line
    return line


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("GENCASTER_SESSION_DAYS", "-3"),
        ("GENCASTER_SESSION_DAYS", "0"),
        ("GENCASTER_PORT", "65536"),
        ("GENCASTER_OSC_PORT", "seven"),
        ("GENCASTER_DATABASE_URL", "mysql://gencaster:db-pw-42@db.example/gencaster"),
        ("GENCASTER_TTS_BACKEND", "festival"),
        ("GENCASTER_TTS_LANGUAGE", "zz"),
        ("GENCASTER_CORS_ORIGINS", "editor.example"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(tmp_path: Path, key: str, raw: str) -> None:
    env = server_env(str(tmp_path), port=str(free_port()))
    env[key] = raw
    line = assert_refused(serve(env), key)
    assert "db-pw-42" not in line


def test_a_taken_osc_port_stops_the_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        env = server_env(
            str(tmp_path), port=str(free_port()), osc_host="127.0.0.1", osc_port=str(port)
        )
        line = assert_refused(serve(env, "--migrate"), f"GENCASTER_OSC_PORT={port}")
    assert "in use" in line


def test_a_taken_http_port_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = server_env(str(tmp_path), host="127.0.0.1", port=str(port))
        line = assert_refused(serve(env), f"GENCASTER_PORT={port}")
    assert "in use" in line


def test_a_sqlite_file_in_a_missing_folder_stops_the_start(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'missing' / 'gencaster.sqlite3'}"
    env = server_env(str(tmp_path / "data"), port=str(free_port()), database_url=url)
    assert "missing" in assert_refused(serve(env), "GENCASTER_DATABASE_URL")


def test_a_data_dir_that_cannot_be_made_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    env = server_env(str(tmp_path / "file" / "data"), port=str(free_port()))
    assert_refused(serve(env), "GENCASTER_DATA_DIR")


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    closed = free_port()
    url = f"postgres://gencaster:db-pw-42@127.0.0.1:{closed}/gencaster"
    env = server_env(str(tmp_path), port=str(free_port()), database_url=url)
    done = serve(env)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    [line] = done.stderr.strip().splitlines()
    assert f"the database at PostgreSQL 127.0.0.1:{closed}/gencaster cannot be reached" in line
    assert "db-pw-42" not in line
