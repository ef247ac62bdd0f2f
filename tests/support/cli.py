"""The ``gencaster`` command as an admin runs it: a real process, in a folder of their choice."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

COMMAND_TIMEOUT = 120.0


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


async def run_cli(
    cwd: Path, env: dict[str, str], *args: str, stdin: bytes | None = None
) -> Finished:
    """``python -m gencaster.cli args`` in ``cwd`` with exactly ``env``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gencaster.cli",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), COMMAND_TIMEOUT)
    except BaseException:  # a timeout, or the test itself stopped: leave no process behind
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return Finished(process.returncode or 0, out.decode(), err.decode())


def cli_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The embedded defaults in ``data_dir``, plus ``settings`` (GENCASTER_ prefixed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENCASTER_")}
    env["GENCASTER_DATA_DIR"] = str(data_dir)
    env["GENCASTER_OSC_PORT"] = "0"
    env.update({f"GENCASTER_{key.upper()}": value for key, value in settings.items()})
    return env
