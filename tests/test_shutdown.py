"""Stopping ``gencaster serve`` with Ctrl-C (SIGINT) while clients are still sending.

Real processes: the server is a ``gencaster serve`` subprocess, the clients are raw
sockets that send a request's head and then trickle its body, as a slow upload does.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from pathlib import Path

from gencaster.transport.shutdown import HANDLER_GRACE_S
from tests.support.polling import eventually
from tests.support.processes import ServerProcess, server_env, server_process
from tests.support.server import free_port

# A hung process is what these tests catch; a slow machine only takes longer.
EXIT_WITHIN = 60.0


def _start_upload(port: int) -> socket.socket:
    """A POST that declares a large body and sends only its first bytes."""
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000000\r\n\r\n{"query":'
    )
    return client


async def _trickle(client: socket.socket) -> None:
    """One byte every 50 ms until the server closes the connection."""
    while True:
        try:
            await asyncio.to_thread(client.sendall, b" ")
        except OSError:
            return
        await asyncio.sleep(0.05)


async def _exited(server: ServerProcess, within: float) -> int:
    code = await asyncio.to_thread(server.process.wait, within)
    return code


async def _ready_for_signals(log: Path) -> None:
    """Sanic takes over SIGINT only once it serves: "Worker ready" in the log."""
    await eventually(lambda: "Worker ready" in log.read_text(), within=EXIT_WITHIN)


def _can_bind(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    return True


async def test_a_second_ctrl_c_during_a_slow_upload_ends_the_server(tmp_path: Path) -> None:
    osc_port = free_port(socket.SOCK_DGRAM)
    env = server_env(str(tmp_path), osc_host="127.0.0.1", osc_port=str(osc_port))
    log = tmp_path / "server.log"
    async with server_process(env, output=log) as server:
        await _ready_for_signals(log)
        client = _start_upload(server.port)
        trickle = asyncio.create_task(_trickle(client))
        server.process.send_signal(signal.SIGINT)
        await eventually(lambda: "Stopping worker" in log.read_text(), within=EXIT_WITHIN)
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGINT)
        try:
            await _exited(server, EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"hung after a second SIGINT:\n{log.read_text()}") from None
        finally:
            await trickle
            client.close()
        assert _can_bind(server.port, socket.SOCK_STREAM)
        assert _can_bind(osc_port, socket.SOCK_DGRAM)
    assert "Traceback" not in log.read_text()


async def test_one_ctrl_c_does_not_wait_for_a_client_still_uploading(tmp_path: Path) -> None:
    env = server_env(str(tmp_path))
    log = tmp_path / "server.log"
    async with server_process(env, output=log) as server:
        await _ready_for_signals(log)
        client = _start_upload(server.port)
        trickle = asyncio.create_task(_trickle(client))
        server.process.send_signal(signal.SIGINT)
        # The body would take 14 hours to arrive; the server stops long before
        # the grace it gives a handler that is still running.
        try:
            await _exited(server, HANDLER_GRACE_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"waited for the slow client:\n{log.read_text()}") from None
        finally:
            await trickle
            client.close()
    assert "Traceback" not in log.read_text()


async def test_ctrl_c_as_the_server_first_answers_stops_it_cleanly(tmp_path: Path) -> None:
    env = server_env(str(tmp_path))
    log = tmp_path / "server.log"
    async with server_process(env, output=log) as server:
        # The socket answers a moment before Sanic handles SIGINT itself.
        server.process.send_signal(signal.SIGINT)
        try:
            await _exited(server, EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"hung after SIGINT at start:\n{log.read_text()}") from None
    assert "Traceback" not in log.read_text(), log.read_text()
