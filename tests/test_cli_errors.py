"""Commands an operator gets wrong say what is wrong in one line, never with a traceback.

Real ``gencaster`` processes, as an operator runs them.
"""

from __future__ import annotations

import socket
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


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--server-port", "99999"), "--server-port"),
        (("--lang-port", "-1"), "--lang-port"),
        (("--beacon-interval", "0"), "--beacon-interval"),
        (("--beacon-interval", "-1"), "--beacon-interval"),
        (("--finish-delay", "nan"), "--finish-delay"),
        (("--server-host", "no-such-host.invalid"), "--server-host"),
    ],
)
async def test_fake_stream_point_refuses_bad_arguments(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    done = await run_cli(tmp_path, cli_env(tmp_path), "fake-stream-point", *args)
    assert done.code == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"argument {named}:" in done.stderr.strip().splitlines()[-1]


async def test_fake_stream_point_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = await run_cli(
            tmp_path, cli_env(tmp_path), "fake-stream-point", "--lang-port", str(port)
        )
    line = one_line(done, 1)
    assert f"udp 127.0.0.1:{port}" in line and "in use" in line


@pytest.mark.parametrize("output", ["missing/x.out", "folder"])
async def test_outputs_that_cannot_be_written_are_one_line(tmp_path: Path, output: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "missing").write_text("a file, so no folder can be made here")
    env = cli_env(tmp_path / "data")
    assert (await run_cli(tmp_path, env, "migrate")).code == 0
    target = str(tmp_path / output)
    line = one_line(await run_cli(tmp_path, env, "export-schema", "-o", target), 1)
    assert f"cannot write {target}" in line
    done = await run_cli(tmp_path, env, "graph", "export", "any", "-o", target)
    assert f"cannot write {target}" in one_line(done, 1)


async def test_check_names_a_missing_sqlite_folder_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'missing' / 'db.sqlite3'}"
    done = await run_cli(tmp_path, cli_env(tmp_path / "data", database_url=url), "check")
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("database")]
    assert "unreachable" in line and "the folder of the SQLite file" in line
