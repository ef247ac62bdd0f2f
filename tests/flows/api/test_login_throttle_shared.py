"""With Redis, failed logins count in every server process: more workers, no more guesses."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.support.processes import (
    RedisServer,
    ServerProcess,
    prepare_database,
    server_env,
    server_process,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOGIN = (
    "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) { __typename } }"
)


async def outcome(http: httpx.AsyncClient, server: ServerProcess, name: str, address: str) -> str:
    response = await http.post(
        server.url,
        json={"query": LOGIN, "variables": {"u": name, "p": "wrong-guess"}},
        headers={"X-Forwarded-For": address},
    )
    body = response.json()
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return body["data"]["authLogin"]["__typename"]


async def test_failures_through_one_process_make_the_name_wait_on_another(
    redis_server: RedisServer, tmp_path
):
    env = server_env(
        str(tmp_path),
        redis_url=f"{redis_server.url}/0",
        redis_prefix=f"logins-{uuid.uuid4().hex[:6]}",
        login_free_failures="2",
        proxies_count="1",
    )
    await asyncio.to_thread(prepare_database, env)
    async with (
        server_process(env) as first,
        server_process(env) as second,
        httpx.AsyncClient(timeout=30) as http,
    ):
        # Two free failures of one name, each through another process and address.
        assert await outcome(http, first, "shared-name", "192.0.2.1") == "LoginError"
        assert await outcome(http, second, "shared-name", "192.0.2.2") == "LoginError"
        # The third, through either process, must wait: the name has used its guesses.
        assert await outcome(http, first, "shared-name", "192.0.2.3") == "TOO_MANY_REQUESTS"
        assert await outcome(http, second, "shared-name", "192.0.2.4") == "TOO_MANY_REQUESTS"
        # An address counts across processes too (four times the names' allowance).
        answers = [
            await outcome(http, (first, second)[n % 2], f"name-{n}", "198.51.100.5")
            for n in range(9)
        ]
        assert answers == ["LoginError"] * 8 + ["TOO_MANY_REQUESTS"]


async def test_logins_go_on_when_redis_is_gone(redis_server: RedisServer, tmp_path):
    env = server_env(
        str(tmp_path),
        redis_url=f"{redis_server.url}/0",
        redis_prefix=f"logins-{uuid.uuid4().hex[:6]}",
        login_free_failures="1",
    )
    await asyncio.to_thread(prepare_database, env)
    async with server_process(env) as server, httpx.AsyncClient(timeout=30) as http:
        await redis_server.kill()
        # The local counts still throttle; nothing fails with an internal error.
        assert await outcome(http, server, "lonely", "192.0.2.9") == "LoginError"
        assert await outcome(http, server, "lonely", "192.0.2.9") == "TOO_MANY_REQUESTS"
        await redis_server.start()
