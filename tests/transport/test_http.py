"""GraphQL over HTTP: GET, POST, GraphiQL and malformed requests."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_get_runs_queries(server: RunningServer):
    async with httpx.AsyncClient() as http:
        response = await http.get(
            server.graphql_url, params={"query": "{ isAuthenticated { username } }"}
        )
    assert response.status_code == 200
    assert response.json() == {"data": {"isAuthenticated": None}}


async def test_get_never_runs_mutations(server: RunningServer):
    async with httpx.AsyncClient() as http:
        response = await http.get(server.graphql_url, params={"query": "mutation { authLogout }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert response.json()["data"] is None


async def test_browsers_get_graphiql_served_locally(server: RunningServer):
    async with httpx.AsyncClient() as http:
        page = await http.get(server.graphql_url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "https://" not in page.text
        for asset in ("graphiql.min.js", "graphiql.min.css"):
            assert asset in page.text
            start = page.text.index("/static/graphiql/")
            assert start >= 0
        script = await http.get(f"{server.url}/static/graphiql/graphiql.min.js")
        assert script.status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (json.dumps({"query": 5}).encode(), "application/json"),
        (
            json.dumps({"query": "{ isAuthenticated { username } }", "variables": "[1]"}).encode(),
            "application/json",
        ),
        (b"query=x", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_requests_get_a_clear_400(
    server: RunningServer, body: bytes, content_type: str
):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.graphql_url, content=body, headers={"Content-Type": content_type}
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_syntax_and_validation_errors_have_codes(server: RunningServer):
    async with httpx.AsyncClient() as http:
        for query in ("{ graphs {", "{ noSuchField }"):
            response = await http.post(server.graphql_url, json={"query": query})
            assert response.status_code == 200
            [error] = response.json()["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "Traceback" not in error["message"]


async def test_static_folders_and_api_docs_are_not_found_never_an_error(server: RunningServer):
    async with httpx.AsyncClient() as http:
        for path in (
            "/static/graphiql/",
            "/static/graphiql/licenses/",
            "/static/graphiql/missing.js",
            # No OpenAPI pages: they would load their scripts from a CDN.
            "/docs",
            "/docs/swagger",
            "/docs/redoc",
            "/docs/openapi.json",
        ):
            response = await http.get(f"{server.url}{path}")
            assert response.status_code == 404, (path, response.status_code)


async def test_dot_dot_under_static_is_a_quiet_not_found(
    server: RunningServer, caplog: pytest.LogCaptureFixture
):
    """A scanner's ``..`` is 404 like any missing file, and no ERROR for the operator."""
    port = server.url.rsplit(":", 1)[1]
    with caplog.at_level(logging.WARNING):
        for path in (
            "/static/graphiql/../../pyproject.toml",
            "/static/graphiql/..%2f..%2fpyproject.toml",
            "/static/graphiql/%2e%2e/%2e%2e/pyproject.toml",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.close()
            assert head.startswith(b"HTTP/1.1 404"), (path, head)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sanic")] == []
