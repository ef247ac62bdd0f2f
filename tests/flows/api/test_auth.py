"""Logins, sessions and cookies over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gencaster.auth import SESSION_COOKIE, create_user
from models import Session, User
from tests.conftest import STAFF_PASSWORD
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

WHO = "query { isAuthenticated { username isStaff } }"


async def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_the_session(
    server: RunningServer, unique: str
):
    await create_user(username=f"u-{unique}", password=STAFF_PASSWORD, is_staff=True)
    async with GraphQLClient(server.graphql_url) as client:
        assert (await client.data(WHO))["isAuthenticated"] is None
        response = await client.http.post(
            client.url,
            json={
                "query": "mutation($u: String!, $p: String!) "
                "{ authLogin(username: $u, password: $p) { __typename } }",
                "variables": {"u": f"u-{unique}", "p": STAFF_PASSWORD},
            },
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        token = client.http.cookies[SESSION_COOKIE]
        assert (await client.data(WHO))["isAuthenticated"] == {
            "username": f"u-{unique}",
            "isStaff": True,
        }
        user = await User.get(username=f"u-{unique}")
        [session] = await Session.filter(user=user)
        assert session.token_digest != token and token not in session.token_digest
        assert (await client.data("mutation { authLogout }"))["authLogout"] is True
        assert await Session.filter(user=user).count() == 0
    async with GraphQLClient(server.graphql_url, cookies={SESSION_COOKIE: token}) as replay:
        assert (await replay.data(WHO))["isAuthenticated"] is None


async def test_wrong_credentials_and_inactive_users_get_login_error(
    anonymous: GraphQLClient, unique: str
):
    await create_user(username=f"in-{unique}", password=STAFF_PASSWORD, is_staff=True)
    await User.filter(username=f"in-{unique}").update(is_active=False)
    for username, password in (
        (f"in-{unique}", STAFF_PASSWORD),
        (f"in-{unique}", "wrong-password"),
        (f"nobody-{unique}", STAFF_PASSWORD),
    ):
        result = await anonymous.login(username, password)
        assert result == {"__typename": "LoginError", "errorMessage": "Wrong credentials"}
    assert SESSION_COOKIE not in anonymous.http.cookies


async def test_passwords_are_stored_as_argon2_hashes(unique: str, server: RunningServer):
    user = await create_user(username=f"h-{unique}", password=STAFF_PASSWORD)
    assert user.password_hash.startswith("$argon2")
    assert STAFF_PASSWORD not in user.password_hash


async def test_cross_site_post_with_the_session_cookie_is_refused(
    server: RunningServer, staff: GraphQLClient, unique: str
):
    mutation = {
        "query": "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid } }",
        "variables": {
            "i": {
                "name": f"csrf-{unique}",
                "displayName": "x",
                "slugName": f"csrf-{unique}",
                "streamAssignmentPolicy": "DEACTIVATE",
                "templateName": "DEFAULT",
            }
        },
    }
    evil = await staff.http.post(
        staff.url, json=mutation, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert evil.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    referer = await staff.http.post(
        staff.url, json=mutation, headers={"Referer": "https://evil.example/page"}
    )
    assert referer.status_code == 403
    listed = await staff.data(
        "query($n: String) { graphs(filters: {name: {exact: $n}}) { uuid } }",
        {"n": f"csrf-{unique}"},
    )
    assert listed["graphs"] == []
    allowed = await staff.http.post(
        staff.url, json=mutation, headers={"Origin": "http://editor.example"}
    )
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    same = await staff.http.post(staff.url, json={"query": WHO}, headers={"Origin": server.url})
    assert same.status_code == 200


async def test_a_cross_site_form_cannot_log_a_browser_in(server: RunningServer, unique: str):
    """Login CSRF: a foreign page posts a multipart form with the attacker's password."""
    await create_user(username=f"csrf-login-{unique}", password=STAFF_PASSWORD, is_staff=True)
    login = (
        "mutation($u: String!, $p: String!) "
        "{ authLogin(username: $u, password: $p) { __typename } }"
    )
    operations = json.dumps(
        {"query": login, "variables": {"u": f"csrf-login-{unique}", "p": STAFF_PASSWORD}}
    )
    form = {"operations": (None, operations), "map": (None, "{}")}
    async with httpx.AsyncClient() as browser:
        for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/"}):
            forged = await browser.post(server.graphql_url, files=form, headers=header)
            assert forged.status_code == 403
            assert "set-cookie" not in forged.headers
        assert SESSION_COOKIE not in browser.cookies
        # The editor's own origin, and clients that are no browsers, still log in.
        editor = await browser.post(
            server.graphql_url, files=form, headers={"Origin": "http://editor.example"}
        )
        assert editor.status_code == 200 and "set-cookie" in editor.headers
    async with httpx.AsyncClient() as script:
        plain = await script.post(server.graphql_url, files=form)
        assert plain.json()["data"]["authLogin"]["__typename"] == "User"


async def test_cors_allows_configured_origins_with_credentials(server: RunningServer):
    async with httpx.AsyncClient() as http:
        preflight = await http.options(
            server.graphql_url,
            headers={
                "Origin": "http://editor.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == "http://editor.example"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        foreign = await http.post(
            server.graphql_url, json={"query": WHO}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize("ending", ["expired", "deactivated"])
async def test_a_session_that_no_longer_holds_logs_nobody_in_and_is_removed(
    server: RunningServer, unique: str, ending: str
):
    username = f"ends-{unique}"
    await create_user(
        username=username, password=STAFF_PASSWORD, is_staff=True, first_name="Ann", email="a@b.c"
    )
    async with GraphQLClient(server.graphql_url) as client:
        await client.login(username, STAFF_PASSWORD)
        who = "query { isAuthenticated { username isStaff isActive firstName lastName email } }"
        assert (await client.data(who))["isAuthenticated"] == {
            "username": username,
            "isStaff": True,
            "isActive": True,
            "firstName": "Ann",
            "lastName": "",
            "email": "a@b.c",
        }
        if ending == "expired":
            await Session.filter(user__username=username).update(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        else:
            await User.filter(username=username).update(is_active=False)
        assert (await client.data(WHO))["isAuthenticated"] is None
        assert await Session.filter(user__username=username).count() == 0
