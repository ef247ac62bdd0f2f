"""``gencaster createuser`` refuses what the user table cannot hold with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import cli_env, run_cli

pytestmark = pytest.mark.timeout(600)

PASSWORD = b"long-enough-password\n"


@pytest.mark.asyncio
async def test_bad_user_names_and_fields_are_refused_without_a_traceback(tmp_path: Path):
    env = cli_env(tmp_path / "data")
    assert (await run_cli(tmp_path, env, "migrate")).code == 0
    cases = [
        (["a" * 300], "The username has at most 150 characters"),
        (["tab\tname"], "must not hold control characters"),
        (["nul\x01name"], "must not hold control characters"),
        (["fine", "--email", "e" * 300 + "@example.org"], "The email has at most"),
        (["   "], "A username must not be empty"),
    ]
    for args, message in cases:
        done = await run_cli(tmp_path, env, "createuser", *args, "--password-stdin", stdin=PASSWORD)
        assert done.code != 0, (args, done)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    listed = await run_cli(tmp_path, env, "users", "list")
    assert listed.code == 0 and "fine" not in listed.stdout
