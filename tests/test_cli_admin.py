"""The admin's toolbox: real ``gencaster`` processes on a fresh and on a populated database."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from gencaster.auth import SESSION_COOKIE, create_user
from gencaster.db import open_database
from gencaster.migrations import known_versions
from gencaster.streaming.listening import STOPPED
from gencaster.streaming.osc import FakeStreamPoint
from models import AudioFile, Graph, Stream, StreamPoint, TextToSpeech
from tests.support.builders import add_cells, add_graph
from tests.support.cli import cli_env, run_cli
from tests.support.databases import REDIS_URL, postgres_database
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port
from tests.support.ws import graphql_socket

# Each command is a process of its own: on a busy machine a test of many takes minutes.
pytestmark = pytest.mark.timeout(900)

LISTS = (
    ["users", "list"],
    ["points", "list"],
    ["streams", "list", "--all"],
    ["speech", "list"],
    ["audio", "orphans"],
)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder that is neither the checkout nor the data dir: admins run commands anywhere."""
    folder = tmp_path / "somewhere-else"
    folder.mkdir()
    return folder


async def test_every_command_works_from_another_folder_on_a_fresh_database(
    tmp_path: Path, elsewhere: Path
) -> None:
    env = cli_env(tmp_path / "data")
    check = await run_cli(elsewhere, env, "check")
    every = len(known_versions())  # a fresh database has applied none of them
    assert check.code == 1 and f"{every} pending: run `gencaster migrate`" in check.stdout
    assert (await run_cli(elsewhere, env, "migrate")).code == 0
    check = await run_cli(elsewhere, env, "check")
    assert check.code == 0, check.stdout + check.stderr
    for args in LISTS:
        done = await run_cli(elsewhere, env, *args)
        assert done.code == 0, (args, done.stderr)
        assert "(none)" in done.stdout and "Traceback" not in done.stderr
    assert not (elsewhere / "data").exists()  # nothing was made relative to the current folder


async def test_check_names_what_is_wrong(tmp_path: Path, elsewhere: Path) -> None:
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    env = cli_env(
        tmp_path / "data",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        osc_host="127.0.0.1",
        osc_port=str(busy.getsockname()[1]),
    )
    try:
        done = await run_cli(elsewhere, env, "check")
    finally:
        busy.close()
    assert done.code == 1 and "Traceback" not in done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "unreachable" in lines["redis"]
    assert "cannot bind udp" in lines["osc"]
    assert "Not ready: migrations, redis, osc port" in done.stderr
    bad = await run_cli(elsewhere, {**env, "GENCASTER_PORT": "99999"}, "check")
    assert bad.code == 2 and "GENCASTER_PORT" in bad.stderr and "Traceback" not in bad.stderr


async def test_check_beside_the_running_embedded_server_is_ready(
    tmp_path: Path, elsewhere: Path
) -> None:
    """The OSC port is taken by the server being checked: that is no fault."""
    port = free_port()
    env = cli_env(
        tmp_path / "data",
        osc_host="127.0.0.1",
        osc_port=str(free_port(socket.SOCK_DGRAM)),
        port=str(port),
    )
    assert (await run_cli(elsewhere, env, "migrate")).code == 0
    async with server_process(env, port=port):
        done = await run_cli(elsewhere, env, "check")
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "held by the running server" in lines["osc"], done.stdout
    assert done.code == 0, done.stderr


async def _populate(database_url: str, media_root: Path) -> dict[str, str]:
    async with open_database(database_url):
        await create_user(username="ann", password="ann-password-1", is_staff=True)
        await create_user(username="ben", password="ben-password-1")
        gone = await StreamPoint.create(host="127.0.0.1", port=57120, name="gone")
        graph = await Graph.create(name="Radio", display_name="Radio", slug_name="radio")
        stream = await Stream.create(stream_point=gone, graph=graph, num_listeners=0)
        (media_root / "speech").mkdir(parents=True)
        (media_root / "speech" / "hello.wav").write_bytes(b"RIFF-speech")
        (media_root / "audio").mkdir()
        (media_root / "audio" / "stray.wav").write_bytes(b"RIFF-stray")
        audio = await AudioFile.create(
            file_path="speech/hello.wav", file_size=11, name="hello", auto_generated=True
        )
        await TextToSpeech.create(
            ssml_hash="0" * 64, ssml_text="<speak>Hallo</speak>", voice="default",
            backend="espeak", audio_file=audio,
        )  # fmt: skip
    return {"point": str(gone.uuid), "stream": str(stream.uuid)}


async def test_every_command_on_a_populated_database(tmp_path: Path, elsewhere: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(data)
    assert (await run_cli(elsewhere, env, "migrate")).code == 0
    ids = await _populate(f"sqlite://{data / 'gencaster.sqlite3'}", data / "media")

    users = await run_cli(elsewhere, env, "users", "list")
    assert [line.split()[:3] for line in users.stdout.splitlines()[2:]] == [
        ["ann", "yes", "yes"],
        ["ben", "no", "yes"],
    ]
    assert (await run_cli(elsewhere, env, "users", "staff", "ben", "on")).code == 0
    off = await run_cli(elsewhere, env, "users", "deactivate", "ann")
    assert off.code == 0 and "Deactivated 'ann'" in off.stdout
    short = await run_cli(
        elsewhere, env, "users", "set-password", "ben", "--password-stdin", stdin=b"short\n"
    )
    assert short.code == 1 and "at least 8 characters" in short.stderr
    assert (await run_cli(elsewhere, env, "users", "staff", "nobody", "on")).code == 1
    users = await run_cli(elsewhere, env, "users", "list")
    assert [line.split()[:3] for line in users.stdout.splitlines()[2:]] == [
        ["ann", "yes", "no"],
        ["ben", "yes", "yes"],
    ]

    points = await run_cli(elsewhere, env, "points", "list")
    assert ids["point"] in points.stdout and "127.0.0.1:57120" in points.stdout
    streams = await run_cli(elsewhere, env, "streams", "list", "--all")
    assert ids["stream"] in streams.stdout and "Radio" in streams.stdout
    idle = await run_cli(elsewhere, env, "streams", "stop", ids["stream"])
    assert idle.code == 1 and "no listeners" in idle.stderr
    forgot = await run_cli(elsewhere, env, "points", "forget", ids["point"])
    assert forgot.code == 0, forgot.stderr
    assert "(none)" in (await run_cli(elsewhere, env, "streams", "list", "--all")).stdout
    bad = await run_cli(elsewhere, env, "points", "forget", "not-a-uuid")
    assert bad.code == 2 and "is no uuid" in bad.stderr

    speech = await run_cli(elsewhere, env, "speech", "list")
    assert "<speak>Hallo</speak>" in speech.stdout
    pruned = await run_cli(elsewhere, env, "speech", "prune")
    assert pruned.code == 0 and "Removed 1 cached speech file(s), freed 11 bytes" in pruned.stdout
    assert not (data / "media" / "speech" / "hello.wav").exists()
    orphans = await run_cli(elsewhere, env, "audio", "orphans")
    assert "audio/stray.wav" in orphans.stdout
    prune = await run_cli(elsewhere, env, "audio", "orphans", "--prune")
    assert prune.code == 0 and "Deleted 1 orphaned file(s), freed 10 bytes" in prune.stdout
    assert not (data / "media" / "audio" / "stray.wav").exists()


WAITING = """\
yield Dialog(title="Wait", content=[Text(text="...")], buttons=[])
await wait_for_stream_variable("never", timeout=120)
"""
STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on StreamInfo { stream { uuid } } ... on GraphDeadEnd { error } } }"""
GRAPH_SUB = "subscription($g: UUID!) { graph(graphUuid: $g) { uuid } }"


async def test_a_running_server_hears_deactivations_and_stopped_streams(tmp_path: Path) -> None:
    """Deactivating ends the user's live subscription; stopping a stream ends its listeners."""
    osc_port = free_port(socket.SOCK_DGRAM)
    async with postgres_database() as database_url:
        with tempfile.TemporaryDirectory() as data_dir:
            env = server_env(
                data_dir,
                database_url=database_url,
                redis_url=REDIS_URL,
                redis_prefix=f"admin-{uuid.uuid4().hex[:6]}",
                osc_port=str(osc_port),
                osc_host="127.0.0.1",
            )
            await asyncio.to_thread(prepare_database, env)
            point = FakeStreamPoint(server_host="127.0.0.1", server_port=osc_port,
                                    beacon_interval=1.0)  # fmt: skip
            await point.start()
            try:
                log = Path(data_dir) / "server.log"
                async with server_process(env, output=log) as server:
                    await _deactivate_and_stop(server, env, Path(data_dir))
            finally:
                await point.close()


async def _deactivate_and_stop(server, env: dict[str, str], data_dir: Path) -> None:
    async with GraphQLClient(server.url) as staff:
        assert (await staff.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
        graph = await add_graph(staff, uuid.uuid4().hex[:8])
        await add_cells(
            staff, graph["nodes"][0]["uuid"], [{"cellType": "PYTHON", "cellCode": WAITING}]
        )
        cookies = {SESSION_COOKIE: staff.http.cookies[SESSION_COOKIE]}
    async with (
        graphql_socket(server.ws_url, cookies=cookies) as editor,
        graphql_socket(server.ws_url) as listener,
    ):
        watching = await editor.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        await editor.next_payload(watching, timeout=30)
        # Until the fake point's first beacon is in, a listener gets NoStreamAvailable and
        # its subscription completes: listen again until a stream is assigned.
        listening, first = await eventually(
            lambda: _first_stream(listener, graph["uuid"]), within=30, interval=0.5
        )
        stream_uuid = first["stream"]["uuid"]

        off = await run_cli(data_dir, env, "users", "deactivate", STAFF_USER)
        assert off.code == 0, off.stderr
        ended = await editor.receive_for(watching, timeout=30)
        assert ended["type"] in ("error", "next", "data"), ended
        assert "UNAUTHENTICATED" in str(ended)

        stop = await run_cli(data_dir, env, "streams", "stop", stream_uuid)
        assert stop.code == 0, stop.stderr
        while True:
            item = (await listener.next_payload(listening, timeout=30))["data"]["streamInfo"]
            if item["__typename"] == "GraphDeadEnd":
                break
        assert item["error"] == STOPPED


async def _first_stream(listener, graph_uuid: str) -> tuple[str, dict] | None:
    operation = await listener.subscribe(STREAM_INFO, {"g": graph_uuid})
    payload = (await listener.next_payload(operation, timeout=30))["data"]["streamInfo"]
    return (operation, payload) if payload["__typename"] == "StreamInfo" else None


async def test_streams_stop_without_redis_says_it_reaches_no_server(
    tmp_path: Path, elsewhere: Path
) -> None:
    """The embedded set-up's broker lives in the server: the CLI must not claim it asked."""
    osc_port = free_port(socket.SOCK_DGRAM)
    env = server_env(str(tmp_path / "data"), osc_port=str(osc_port), osc_host="127.0.0.1")
    await asyncio.to_thread(prepare_database, env)
    point = FakeStreamPoint(server_host="127.0.0.1", server_port=osc_port, beacon_interval=1.0)
    await point.start()
    try:
        async with server_process(env) as server:
            async with GraphQLClient(server.url) as staff:
                assert (await staff.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
                graph = await add_graph(staff, uuid.uuid4().hex[:8])
                cells = [{"cellType": "PYTHON", "cellCode": WAITING}]
                await add_cells(staff, graph["nodes"][0]["uuid"], cells)
            async with graphql_socket(server.ws_url) as listener:
                listening, first = await eventually(
                    lambda: _first_stream(listener, graph["uuid"]), within=30, interval=0.5
                )
                stop = await run_cli(elsewhere, env, "streams", "stop", first["stream"]["uuid"])
                assert stop.code == 1, stop
                assert "Without GENCASTER_REDIS_URL no running server hears" in stop.stderr
                assert "Asked" not in stop.stdout
                # The stream goes on: the listener is still listening.
                assert (await listener.next_payload(listening, timeout=30))["data"]
    finally:
        await point.close()


async def test_a_deactivated_user_may_log_in_again_once_activated(
    tmp_path: Path, elsewhere: Path
) -> None:
    env = server_env(str(tmp_path / "data"))
    prepare_database(env)
    async with server_process(env) as server:

        async def login() -> str:
            async with GraphQLClient(server.url) as client:
                return (await client.login(STAFF_USER, STAFF_PASSWORD))["__typename"]

        assert (await run_cli(elsewhere, env, "users", "deactivate", STAFF_USER)).code == 0
        assert await login() == "LoginError"
        password = await run_cli(
            elsewhere, env, "users", "set-password", STAFF_USER, "--password-stdin",
            stdin=f"{STAFF_PASSWORD}\n".encode(),
        )  # fmt: skip
        assert password.code == 0 and "is deactivated and cannot log in" in password.stderr
        assert await login() == "LoginError"
        on = await run_cli(elsewhere, env, "users", "activate", STAFF_USER)
        assert on.code == 0 and f"{STAFF_USER!r} may log in again" in on.stdout, on.stderr
        assert await login() == "User"
        again = await run_cli(elsewhere, env, "users", "activate", STAFF_USER)
        assert again.code == 0 and "is already active" in again.stdout
        nobody = await run_cli(elsewhere, env, "users", "activate", "nobody")
        assert nobody.code == 1 and "Traceback" not in nobody.stderr
