"""A real browser for tests: the system's Chromium driven by Playwright, and pages on own origins.

Playwright never downloads a browser here: it drives the system's ``chromium``. Tests
that need it skip when it is not installed (``scripts/services`` installs it). No
request interception (``page.route``): Playwright would answer CORS preflights itself
and hide exactly what the tests look for.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--headless")


def chromium_path() -> str | None:
    """The system's Chromium, or ``None``."""
    found = os.environ.get("GENCASTER_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium (a Playwright ``Browser``); skips the test without one."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (scripts/services installs it with apt-get)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            await browser.close()


class _Handler(SimpleHTTPRequestHandler):
    pages: Mapping[str, bytes] = {}
    spa_root: Path | None = None

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in self.pages:
            self._send(self.pages[path], "text/html; charset=utf-8")
        elif self.spa_root is not None:
            super().do_GET()
        else:
            self.send_error(404)

    def translate_path(self, path: str) -> str:
        """Files of the app's folder; any other path is the app's own route (index.html)."""
        assert self.spa_root is not None
        candidate = Path(super().translate_path(path))
        return str(candidate if candidate.is_file() else self.spa_root / "index.html")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on the Gencaster server's log, not on this one."""


@contextmanager
def static_site(
    pages: Mapping[str, bytes] | None = None, *, spa_root: Path | None = None
) -> Iterator[str]:
    """Serve ``pages`` (path -> HTML) or a built app on a free port; yields its origin."""
    root = spa_root.resolve() if spa_root is not None else None
    handler = type(
        "SiteHandler",
        (_Handler,),
        {"pages": dict(pages or {}), "spa_root": root},
    )
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *args: handler(*args, directory=str(root) if root else None),
    )
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name=f"site-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
