"""Limits that need their own settings: connection budgets, work for clients that left."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest

from gencaster.auth import create_user
from tests.conftest import STAFF_PASSWORD
from tests.support.builders import add_graph
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.ws import graphql_socket
from tests.transport.test_limits import nested

live = pytest.mark.asyncio(loop_scope="session")


@live
async def test_a_connection_that_spends_its_budget_is_refused_until_it_refills(server_with):
    server = await server_with(
        max_query_cost=100, connection_cost_budget=250, connection_cost_per_s=1
    )
    query = "{ graphs { uuid name } }"  # 1 + 10 * 2 = 21
    async with graphql_socket(server.ws_url) as ws:
        codes = []
        for _ in range(15):
            operation_id = await ws.subscribe(query)
            message = await ws.receive_for(operation_id)
            if message["type"] == "error":
                codes.append(message["payload"][0]["extensions"]["code"])
                assert message["payload"][0]["extensions"]["retryAfter"] >= 1
            else:
                assert (await ws.receive_for(operation_id))["type"] == "complete"
        assert codes and set(codes) == {"TOO_MANY_REQUESTS"}
    # A new connection has its own budget.
    async with graphql_socket(server.ws_url) as ws:
        operation_id = await ws.subscribe(query)
        assert (await ws.receive_for(operation_id))["type"] == "next"


@live
async def test_http_work_stops_when_its_client_disconnects(server_with):
    server = await server_with(
        max_query_depth=100,
        max_query_cost=10**40,
        max_query_fields=10**9,
        connection_cost_budget=10**40,
    )
    async with GraphQLClient(server.graphql_url) as staff:
        await create_user(username="deep-staff", password=STAFF_PASSWORD, is_staff=True)
        await staff.login("deep-staff", STAFF_PASSWORD)
        await add_graph(staff, "deep-http", publicVisible=True)
    # Some 2**22 node visits: minutes of work if nobody stopped it.
    target = f"/graphql?{urlencode({'query': nested(22)})}"
    live = server.app.ctx.live_requests
    _, writer = await asyncio.open_connection(server.settings.host, server.settings.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    await writer.drain()
    await eventually(lambda: live.count == 1)
    writer.transport.abort()
    await eventually(lambda: live.count == 0, message="the query ran on")
