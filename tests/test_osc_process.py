"""``gencaster osc`` starts in the environment the production recipe exports for the workers."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.databases import REDIS_URL
from tests.support.processes import ROOT, server_env
from tests.support.server import free_port

START_WITHIN = 60.0


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_the_documented_recipe_starts_the_osc_server(tmp_path: Path):
    # README and docs/operations.md export these for `serve`, then run `osc --port`.
    env = server_env(
        str(tmp_path), workers="4", osc_port="0", osc_host="127.0.0.1", redis_url=REDIS_URL
    )
    subprocess.run(
        [sys.executable, "-m", "gencaster.cli", "migrate"], env=env, cwd=ROOT, check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen(
        [sys.executable, "-m", "gencaster.cli", "osc", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_WITHIN
        while not _port_taken(port) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()[0][-2000:]
        assert _port_taken(port), "gencaster osc never bound its port"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
