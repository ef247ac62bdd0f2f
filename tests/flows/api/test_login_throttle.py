"""Failed logins slow down their user name and their address; logins cannot starve the server."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest

from gencaster.auth import HASHING_NICENESS, PasswordHashing, create_user
from tests.conftest import STAFF_PASSWORD
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOGIN = (
    "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) "
    "{ __typename ... on LoginError { errorMessage } } }"
)


async def login(
    http: httpx.AsyncClient, server: RunningServer, name: str, password: str, **headers: str
) -> dict[str, Any]:
    response = await http.post(
        server.graphql_url,
        json={"query": LOGIN, "variables": {"u": name, "p": password}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def outcome(body: dict[str, Any]) -> str:
    """``User``, ``LoginError`` or the error code that refused the login."""
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return body["data"]["authLogin"]["__typename"]


async def test_a_name_that_failed_too_often_must_wait_even_with_the_right_password(server_with):
    server = await server_with(login_free_failures=3)
    await create_user(username="target", password=STAFF_PASSWORD, is_staff=True)
    async with httpx.AsyncClient(timeout=30) as http:
        answers = [outcome(await login(http, server, "target", f"guess-{n}")) for n in range(3)]
        assert answers == ["LoginError"] * 3
        refused = await login(http, server, "target", STAFF_PASSWORD)
        error = refused["errors"][0]
        assert error["extensions"] == {"code": "TOO_MANY_REQUESTS", "retryAfter": 1}
        assert STAFF_PASSWORD not in str(refused)
        # Another name from the same address is not affected (yet).
        assert outcome(await login(http, server, "someone-else", "guess")) == "LoginError"


async def test_an_address_is_throttled_over_many_names_and_proxies_name_the_address(server_with):
    server = await server_with(login_free_failures=1, proxies_count=1)
    async with httpx.AsyncClient(timeout=30) as http:
        flooder = {"X-Forwarded-For": "203.0.113.7"}
        answers = [
            outcome(await login(http, server, f"name-{n}", "guess", **flooder)) for n in range(6)
        ]
        assert answers == ["LoginError"] * 4 + ["TOO_MANY_REQUESTS"] * 2
        neighbour = {"X-Forwarded-For": "203.0.113.8"}
        assert outcome(await login(http, server, "name-9", "guess", **neighbour)) == "LoginError"


async def test_logins_over_websocket_are_throttled_too(server_with):
    server = await server_with(login_free_failures=1)
    async with graphql_socket(server.ws_url) as ws:
        answers = []
        for _ in range(3):
            operation_id = await ws.subscribe(LOGIN, {"u": "ws-name", "p": "guess"})
            message = await ws.receive_for(operation_id)
            assert message["type"] == "next", message
            answers.append(outcome(message["payload"]))
            assert (await ws.receive_for(operation_id))["type"] == "complete"
    assert answers == ["LoginError", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]


async def test_media_reads_succeed_during_a_flood_of_wrong_logins(server_with):
    """Figures for this are printed by bench/login_flood.py; here only that reads succeed."""
    server = await server_with(proxies_count=1, password_hash_threads=1)
    content = os.urandom(64 * 1024)
    (server.settings.media_root / "flood").mkdir(parents=True, exist_ok=True)
    (server.settings.media_root / "flood" / "tone.wav").write_bytes(content)
    media = f"{server.url}/media/flood/tone.wav"
    async with httpx.AsyncClient(timeout=60) as http:
        # Every attempt from its own address and name: nothing throttles, all hash.
        flood = [
            asyncio.create_task(
                login(
                    http, server, f"nobody-{n}", "guess", **{"X-Forwarded-For": f"198.51.100.{n}"}
                )
            )
            for n in range(24)
        ]
        reads = []
        while not all(task.done() for task in flood):
            reads.append(await http.get(media))
        answers = [outcome(await task) for task in flood]
    assert answers == ["LoginError"] * 24
    assert reads and all(read.status_code == 200 and read.content == content for read in reads)


async def test_logins_past_the_hashing_queue_are_refused_at_once(server_with):
    server = await server_with(proxies_count=1, password_hash_threads=1, password_hash_waiting=2)
    async with httpx.AsyncClient(timeout=60) as http:
        flood = [
            login(http, server, f"queued-{n}", "guess", **{"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(12)
        ]
        answers = [outcome(body) for body in await asyncio.gather(*flood)]
    # One hashing and two waiting at most: the others are turned away before any work.
    assert set(answers) == {"LoginError", "TOO_MANY_REQUESTS"}, answers
    assert 3 <= answers.count("LoginError") < 12


async def test_password_hashing_threads_yield_to_the_event_loop():
    hashing = PasswordHashing(1)
    try:
        niceness = await hashing._run(lambda: os.getpriority(os.PRIO_PROCESS, 0))
    finally:
        hashing.close()
    assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + HASHING_NICENESS)
