"""Fixtures for the GraphiQL page: an HTML reference parser and a real static-file server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

from gencaster.transport.graphiql import STATIC_DIR, graphiql_html
from tests.support.server import serving

SERVED_STATIC_URL = "/static/graphiql"


@dataclass
class PageRefs:
    """What a browser would load from the page, and the inline code it would run."""

    scripts: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (rel, href)
    inline_scripts: list[str] = field(default_factory=list)
    csp: str | None = None
    endpoint: str | None = None


class _RefParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs = PageRefs()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "script":
            self._in_script = True
            if "src" in attr:
                self.refs.scripts.append(attr["src"])
        elif tag == "link":
            self.refs.links.append((attr.get("rel", ""), attr.get("href", "")))
        elif tag == "meta" and attr.get("http-equiv", "").lower() == "content-security-policy":
            self.refs.csp = attr.get("content")
        elif attr.get("id") == "graphiql":
            self.refs.endpoint = attr.get("data-endpoint")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.refs.inline_scripts.append(data)


def parse_page(html: str) -> PageRefs:
    parser = _RefParser()
    parser.feed(html)
    parser.close()
    return parser.refs


@dataclass
class StaticServer:
    url: str


@pytest.fixture
async def static_server() -> AsyncIterator[StaticServer]:
    """A real Sanic app serving the page and STATIC_DIR, as the lead registers them."""
    app = Sanic(f"graphiql_test_{uuid.uuid4().hex[:8]}")
    app.static(SERVED_STATIC_URL, STATIC_DIR)

    @app.get("/graphql")
    async def page(request: Request) -> HTTPResponse:
        return response.html(graphiql_html(static_url=SERVED_STATIC_URL))

    async with serving(app) as port:
        yield StaticServer(url=f"http://127.0.0.1:{port}")
