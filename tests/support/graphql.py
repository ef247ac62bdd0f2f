"""A small GraphQL-over-HTTP client for tests, on httpx."""

from __future__ import annotations

import json
from typing import Any

import httpx


class GraphQLClient:
    def __init__(self, graphql_url: str, **client_options: Any) -> None:
        self.url = graphql_url
        self.http = httpx.AsyncClient(timeout=30, **client_options)

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The whole response body (``data`` and maybe ``errors``)."""
        # Escaped as JSON.stringify does, so lone surrogates travel as "\\ud800".
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        response = await self.http.post(self.url, content=body, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a response that must have no errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        body = await self.execute(query, variables)
        assert body.get("errors"), f"expected errors, got {body}"
        return [error["extensions"]["code"] for error in body["errors"]]

    async def login(self, username: str, password: str) -> dict[str, Any]:
        data = await self.data(
            "mutation($u: String!, $p: String!) { authLogin(username: $u, password: $p) "
            "{ __typename ... on User { username isStaff } ... on LoginError { errorMessage } } }",
            {"u": username, "p": password},
        )
        return data["authLogin"]
