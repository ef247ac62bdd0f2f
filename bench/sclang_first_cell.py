"""First cells after the clean slate, on a real SuperCollider stream point.

Run from the repository root, with the class folder of the original project and
``sclang``/``scsynth``/``jackd`` installed (see tests/support/sclang.py)::

    GENCASTER_PEERS_SC_CLASS_DIR=/path/to/caster-sound/GenCaster \\
        .venv/bin/python -m bench.sclang_first_cell [--starts N]

A server runs in this process (SQLite in a temporary folder, in-process OSC) with one
real sclang stream point. A graph whose entry node holds ``0.1.wait; "first".postln``
and ``"second".postln`` is listened to ``N`` times, each a fresh stream, so each start
sends the clean slate first. A start *loses* its first cell when that cell never
finishes (the reset's ``CmdPeriod`` killed it). Printed per run of starts: lost first
cells, and from the instruction rows the time from the reset's send and from its
``FINISHED`` to the first cell's send, and from the first cell's ``FINISHED`` to the
second cell's send (the turn-around between two cells on the real class).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from gencaster.auth import create_user
from gencaster.cli import migrate_database
from gencaster.settings import Settings
from models import InstructionState, Stream, StreamInstruction, StreamLog, StreamPoint
from tests.support import sclang
from tests.support.builders import add_cells, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.server import free_port, running_server
from tests.support.ws import graphql_socket

FIRST_CELL = '0.1.wait; "first".postln'
SECOND_CELL = '"second".postln'
STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on StreamInfo { stream { uuid } } } }"""
PASSWORD = "bench-password-123"
PROBES = re.compile(r"\d+(?= probe)")


async def main(starts: int) -> int:
    reason = sclang.missing()
    if reason:
        print(f"skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data:
        settings = Settings(
            host="127.0.0.1",
            port=free_port(),
            data_dir=Path(data),
            osc_host="127.0.0.1",
            osc_port=free_port(socket.SOCK_DGRAM),
            instruction_timeout_s=2.0,  # a lost first cell costs 2 s here, not 300
            secret_key="bench",
        )
        await migrate_database(settings)
        async with (
            running_server(settings) as server,
            sclang.running_point("bench", settings.osc_port) as point,
        ):
            await _run(server, point, starts)
    return 0


async def _run(server: object, point: sclang.ScPoint, starts: int) -> None:
    for _ in range(300):
        if await StreamPoint.exists(port=point.lang_port):
            break
        await asyncio.sleep(0.1)
    else:
        raise SystemExit(f"the stream point never beaconed:\n{point.output()[-2000:]}")
    unique = uuid.uuid4().hex[:8]
    await create_user(username=f"bench-{unique}", password=PASSWORD, is_staff=True)
    async with GraphQLClient(server.graphql_url) as staff:  # type: ignore[attr-defined]
        await staff.login(f"bench-{unique}", PASSWORD)
        graph = await add_graph(staff, unique)
        cells = [
            {"cellType": "SUPERCOLLIDER", "cellCode": FIRST_CELL},
            {"cellType": "SUPERCOLLIDER", "cellCode": SECOND_CELL},
        ]
        await add_cells(staff, graph["nodes"][0]["uuid"], cells)
    lost, after_send, after_finished, between_cells, resets = 0, [], [], [], []
    for _ in range(starts):
        stream_uuid = await _listen_once(server, graph["uuid"])
        stream = await Stream.get(uuid=stream_uuid)
        rows = await StreamInstruction.filter(
            stream_point_id=stream.stream_point_id, created_date__gte=stream.created_date
        ).order_by("created_date")
        reset, first, second = _reset_first_second(rows)
        if first.state != InstructionState.FINISHED:
            lost += 1
        after_send.append((first.created_date - reset.created_date).total_seconds() * 1000)
        if reset.state == InstructionState.FINISHED:
            delta = first.created_date - reset.modified_date
            after_finished.append(delta.total_seconds() * 1000)
        if first.state == InstructionState.FINISHED and second is not None:
            delta = second.created_date - first.modified_date
            between_cells.append(delta.total_seconds() * 1000)
        resets += await StreamLog.filter(
            stream_id=stream_uuid, message__contains="reset"
        ).values_list("message", flat=True)
        await _until_released(stream_uuid)
    print(f"starts: {starts}  first cell lost: {lost}")
    _print_ms("first cell sent after the reset was sent", after_send)
    _print_ms("first cell sent after the reset's FINISHED", after_finished)
    _print_ms("second cell sent after the first cell's FINISHED", between_cells)
    probes = Counter(PROBES.search(message)[0] for message in resets if PROBES.search(message))
    print(f"reset handshakes: {len(resets)}; probes sent per handshake: {dict(probes)}")


def _reset_first_second(
    rows: list[StreamInstruction],
) -> tuple[StreamInstruction, StreamInstruction, StreamInstruction | None]:
    """The clean slate, the first cell and the second cell (if it was sent) of one start."""
    texts = [row.instruction_text for row in rows]
    first_index = texts.index(FIRST_CELL)
    reset_index = max(i for i, text in enumerate(texts[:first_index]) if "CmdPeriod.run" in text)
    second = next(
        (row for row in rows[first_index + 1 :] if row.instruction_text == SECOND_CELL), None
    )
    return rows[reset_index], rows[first_index], second


async def _listen_once(server: object, graph_uuid: str) -> str:
    async with graphql_socket(server.ws_url) as ws:  # type: ignore[attr-defined]
        op = await ws.subscribe(STREAM_INFO, {"g": graph_uuid})
        first = (await ws.next_payload(op, timeout=30))["data"]["streamInfo"]
        stream_uuid = first["stream"]["uuid"]
        while True:
            item = (await ws.next_payload(op, timeout=30))["data"]["streamInfo"]
            if item["__typename"] == "GraphDeadEnd":
                return stream_uuid


async def _until_released(stream_uuid: str) -> None:
    for _ in range(200):
        stream = await Stream.get(uuid=stream_uuid)
        if stream.num_listeners == 0:
            return
        await asyncio.sleep(0.05)


def _print_ms(what: str, values: list[float]) -> None:
    if not values:
        print(f"{what}: no data")
        return
    ordered = sorted(values)
    print(
        f"{what}: median {statistics.median(ordered):.1f} ms, "
        f"min {ordered[0]:.1f}, max {ordered[-1]:.1f} (n={len(ordered)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=20)
    sys.exit(asyncio.run(main(parser.parse_args().starts)))
