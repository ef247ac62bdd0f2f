"""Commands an operator gets wrong say what is wrong in one line, never with a traceback.

Real ``gencaster`` processes, as an operator runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Finished, cli_env, run_cli


def one_line(done: Finished, code: int) -> str:
    """The single ``Error``/``Configuration error`` line of a refused command."""
    assert done.code == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    return line


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("users", "list"), None),
        (("createuser", "zed", "--password-stdin"), b"a-long-password\n"),
    ],
)
async def test_admin_commands_before_the_first_migration_say_to_migrate(
    tmp_path: Path, args: tuple[str, ...], stdin: bytes | None
) -> None:
    env = cli_env(tmp_path / "data")
    line = one_line(await run_cli(tmp_path, env, *args, stdin=stdin), 1)
    assert "there is no database" in line and "gencaster migrate" in line
    assert not (tmp_path / "data").exists()  # nothing was made on the way
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gencaster.sqlite3").touch()  # opened once, never migrated
    line = one_line(await run_cli(tmp_path, env, *args, stdin=stdin), 1)
    assert "has no tables yet" in line and "gencaster migrate" in line


async def test_migrate_into_a_missing_folder_names_the_setting(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'missing' / 'db.sqlite3'}"
    env = cli_env(tmp_path / "data", database_url=url)
    line = one_line(await run_cli(tmp_path, env, "migrate"), 2)
    assert "GENCASTER_DATABASE_URL" in line and "missing" in line
