"""/metrics figures move as sockets, listeners and instructions come and go."""

from __future__ import annotations

import httpx
import pytest

from tests.flows.listening.conftest import FakeFactory
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.metrics import scrape, value
from tests.support.polling import eventually
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROTOCOL = "graphql-transport-ws"
# The walk waits at the dialog, so the listener stays while the figures are read.
WAITING_DIALOG = """\
yield Dialog(title="Wait", content=[Text(text="...")], buttons=[])
await wait_for_stream_variable("never", timeout=60)
"""


async def test_figures_follow_sockets_listeners_and_instructions(
    server: RunningServer, fake_point: FakeFactory, unique: str
) -> None:
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "SUPERCOLLIDER", "cellCode": "first"},
            {"cellType": "PYTHON", "cellCode": WAITING_DIALOG},
        ],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with httpx.AsyncClient() as http:
        before = await scrape(http, server.url)
        assert value(before, "gencaster_stream_points_live") >= 1

        async def moved(check) -> bool:
            return check(await scrape(http, server.url))

        sockets = ("gencaster_websockets_open", {"protocol": PROTOCOL})
        field = ("gencaster_subscriptions_active", {"field": "streamInfo"})
        finished = ("gencaster_instruction_round_trip_seconds_count", {"until": "finished"})
        async with graphql_socket(server.ws_url, PROTOCOL) as socket:
            await eventually(
                lambda: moved(
                    lambda s: (
                        value(s, sockets[0], **sockets[1])
                        == value(before, sockets[0], **sockets[1]) + 1
                    )
                )
            )
            op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            first = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
            stream = first["stream"]["uuid"]
            while (await socket.next_payload(op, timeout=30))["data"]["streamInfo"][
                "__typename"
            ] != "Dialog":
                pass
            during = await scrape(http, server.url)
            assert value(during, "gencaster_stream_listeners", stream=stream) == 1
            assert value(during, field[0], **field[1]) == value(before, field[0], **field[1]) + 1
            assert value(during, finished[0], **finished[1]) > value(
                before, finished[0], **finished[1]
            )
            assert value(during, "gencaster_graphql_operations_total", protocol=PROTOCOL) > (
                value(before, "gencaster_graphql_operations_total", protocol=PROTOCOL)
            )
            assert value(during, "gencaster_http_requests_total", status="200") > value(
                before, "gencaster_http_requests_total", status="200"
            )
            await socket.stop(op)
            await eventually(
                lambda: moved(lambda s: value(s, "gencaster_stream_listeners", stream=stream) == 0)
            )
            await eventually(
                lambda: moved(
                    lambda s: value(s, field[0], **field[1]) == value(before, field[0], **field[1])
                )
            )
        await eventually(
            lambda: moved(
                lambda s: (
                    value(s, sockets[0], **sockets[1]) == value(before, sockets[0], **sockets[1])
                )
            )
        )
    await staff.http.aclose()
