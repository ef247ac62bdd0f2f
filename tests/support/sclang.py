"""Real SuperCollider stream points: jackd with the dummy driver and sclang running the class.

Used by ``tests/peers/test_sclang.py`` and ``bench/sclang_first_cell.py``. The class folder
(the original project's ``caster-sound/GenCaster``) comes from outside the repository:
``GENCASTER_PEERS_SC_CLASS_DIR`` names it, and ``sclang``, ``scsynth`` and ``jackd`` must be
on the PATH. ``missing()`` says what is absent, so callers can skip cleanly.

Every process is started in its own session and stopped by killing its process group
(scsynth survives a SIGTERM to sclang alone).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import free_port

CLASS_DIR_VARIABLE = "GENCASTER_PEERS_SC_CLASS_DIR"
PROGRAMS = ("sclang", "scsynth", "jackd")

# What the original's sc.scd does, without its demo sounds: the class's server object, started.
START_SCRIPT = """\
g = GenCasterServer(verbosity: GenCasterVerbosity.debug);
g.startServer();
"""


def class_dir() -> Path | None:
    value = os.environ.get(CLASS_DIR_VARIABLE, "")
    return Path(value) if value else None


def missing() -> str | None:
    """Why real stream points cannot run here, or ``None`` when they can."""
    folder = class_dir()
    if folder is None:
        return f"{CLASS_DIR_VARIABLE} is not set"
    if not (folder / "classes" / "GenCaster.sc").is_file():
        return f"{CLASS_DIR_VARIABLE}={folder} holds no classes/GenCaster.sc"
    absent = [program for program in PROGRAMS if shutil.which(program) is None]
    return f"not on the PATH: {', '.join(absent)}" if absent else None


def jack_running() -> bool:
    """Whether a JACK server named "default" runs already (scsynth connects to that one)."""
    if shutil.which("jack_lsp") is None:
        return False
    result = subprocess.run(["jack_lsp"], capture_output=True, timeout=10, check=False)
    return result.returncode == 0 and b"system:playback" in result.stdout


@dataclass
class Group:
    """A process started in its own session; ``stop`` ends its whole process group."""

    process: asyncio.subprocess.Process
    log: Path

    async def stop(self) -> None:
        if self.process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        # Children (scsynth) may outlive their parent: end the rest of the group too.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


async def _start(argv: list[str], env: dict[str, str], log: Path) -> Group:
    with log.open("ab") as handle:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Group(process, log)


@asynccontextmanager
async def jack(work: Path) -> AsyncIterator[Group | None]:
    """JACK with the dummy driver, unless one runs already (then ``None``: it is not ours)."""
    if jack_running():
        yield None
        return
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    argv = ["jackd", "-r", "-d", "dummy", "-r", "48000", "-p", "1024"]
    group = await _start(argv, env, work / "jackd.log")
    try:
        for _ in range(100):
            if await asyncio.to_thread(jack_running):
                break
            await asyncio.sleep(0.1)
        yield group
    finally:
        await group.stop()


@dataclass
class ScPoint:
    """One sclang process running the class; restartable on the same ports."""

    name: str
    lang_port: int
    synth_port: int
    backend_port: int
    work: Path
    group: Group | None = None

    async def start(self) -> None:
        folder = class_dir()
        assert folder is not None, missing()
        config = self.work / f"{self.name}.yaml"
        config.write_text(f"includePaths:\n  - {folder}\nexcludePaths: []\n")
        script = self.work / f"{self.name}.scd"
        script.write_text(START_SCRIPT)
        runtime_dir = self.work / "xdg"
        runtime_dir.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "SC_NAME": self.name,
            "SC_SYNTH_PORT": str(self.synth_port),
            "BACKEND_OSC_HOST": "127.0.0.1",
            "BACKEND_OSC_PORT": str(self.backend_port),
            "QT_QPA_PLATFORM": "offscreen",
            "QTWEBENGINE_DISABLE_SANDBOX": "1",
            "XDG_RUNTIME_DIR": str(runtime_dir),
        }
        argv = ["sclang", "-D", "-u", str(self.lang_port), "-l", str(config), str(script)]
        self.group = await _start(argv, env, self.work / f"{self.name}.log")

    async def stop(self) -> None:
        if self.group is not None:
            await self.group.stop()
            self.group = None

    def output(self) -> str:
        log = self.work / f"{self.name}.log"
        return log.read_text(errors="replace") if log.exists() else ""


@asynccontextmanager
async def sc_work_dir() -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gencaster-sclang-") as work:
        yield Path(work)


@asynccontextmanager
async def running_point(name: str, backend_port: int) -> AsyncIterator[ScPoint]:
    """JACK (unless one runs) and one started sclang sending to ``backend_port``; stopped after.

    Free UDP ports of its own for the language and the synth; the point may be stopped and
    started again inside the block (it keeps its ports).
    """
    async with sc_work_dir() as work, jack(work):
        point = ScPoint(
            name=name,
            lang_port=free_port(socket.SOCK_DGRAM),
            synth_port=free_port(socket.SOCK_DGRAM),
            backend_port=backend_port,
            work=work,
        )
        await point.start()
        try:
            yield point
        finally:
            await point.stop()
