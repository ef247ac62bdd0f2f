"""Cross-site request forgery protection.

A browser attaches the session cookie to any request to our host, even one a
foreign page starts. So a POST or WebSocket upgrade that carries the cookie must
come from our own origin or a configured one, as its ``Origin`` (or, lacking
that, ``Referer``) header shows. A POST is checked even without the cookie: a
foreign page could otherwise log the browser in as someone else (login CSRF,
the answer sets the cookie). A WebSocket without the cookie acts as nobody, and
a login over it changes only that socket. Clients that send neither header are
not browsers (scripts, the CLI), which cannot be tricked into sending a victim's
cookie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from gencaster.auth import SESSION_COOKIE

_PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def request_origin_allowed(
    *,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    scheme: str,
    host: str,
    allowed_origins: Iterable[str],
    cookie_only: bool = True,
) -> bool:
    """True unless the request comes from a foreign origin (with the cookie, if ``cookie_only``)."""
    if cookie_only and SESSION_COOKIE not in cookies:
        return True
    source = headers.get("origin") or headers.get("referer")
    if not source:
        return True
    origin = _origin_of(source)
    if origin is None:
        return False
    # A WebSocket upgrade arrives as ws/wss, but the page that opened it is http/https.
    scheme = _PAGE_SCHEMES.get(scheme, scheme)
    own = f"{scheme}://{host}".lower()
    return origin == own or origin in {item.rstrip("/").lower() for item in allowed_origins}
