"""What a page of a real app reports: console errors, failed requests, GraphQL errors."""

from __future__ import annotations

import json
from typing import Any


class Watch:
    """Collects every problem one page shows, over HTTP and over its WebSockets.

    ``ignore`` holds fragments of messages that are not the server's business (the
    listener app's Janus audio client and its CDN script, which do not exist here).
    """

    def __init__(self, name: str, *, ignore: tuple[str, ...] = ()) -> None:
        self.name = name
        self.ignore = ignore
        self.problems: list[str] = []
        self.graphql_operations = 0

    def _add(self, kind: str, text: str) -> None:
        if not any(fragment in text for fragment in self.ignore):
            self.problems.append(f"{self.name} {kind}: {text[:500]}")

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._add("page error", str(error)))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.on("websocket", self._websocket)

    def _console(self, message: Any) -> None:
        # "Failed to load resource" names no URL; the same failure arrives with its URL
        # as a failed request or an HTTP error, and is judged there.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self._add("console error", message.text)

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # the app navigated away while a request was open
            return
        self._add("request failed", f"{request.method} {request.url} {failure}")

    async def _response(self, response: Any) -> None:
        if response.status >= 400:
            self._add("HTTP error", f"{response.request.method} {response.url} {response.status}")
        if "/graphql" not in response.url or response.request.method != "POST":
            return
        try:
            body = await response.json()
        except Exception:  # the page went away before the body was read
            return
        self.graphql_operations += 1
        if isinstance(body, dict) and body.get("errors"):
            self._add("GraphQL error (HTTP)", json.dumps(body["errors"]))

    def _websocket(self, socket: Any) -> None:
        socket.on("framereceived", self._frame)
        socket.on("socketerror", lambda error: self._add("WebSocket error", str(error)))

    def _frame(self, payload: str | bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            self._add("WebSocket frame", "not JSON")
            return
        kind = message.get("type")
        errors = (message.get("payload") or {}).get("errors") if kind in ("data", "next") else None
        if kind in ("error", "connection_error") or errors:
            self._add("GraphQL error (WebSocket)", json.dumps(message)[:500])
