"""The GraphiQL page, served by Gencaster itself from vendored assets.

Nothing is loaded from a CDN: the server may run with no internet at all. The
assets live in ``STATIC_DIR`` (see its README.md for versions and refreshing);
the web layer mounts that folder at ``static_url`` and serves ``graphiql_html()``
to browsers asking for the endpoint.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "graphiql_html"]

STATIC_DIR: Path = Path(__file__).resolve().parent / "static" / "graphiql"

# Scripts only from our origin and never inline. Styles allow inline because the
# bundled UI components inject <style> elements at run time; fonts and icons are
# data: URIs inside graphiql.min.css. 'self' in connect-src covers ws(s): too.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "connect-src 'self'; "
    "base-uri 'none'; "
    "form-action 'none'"
)

# Scripts in load order: graphiql.min.js is a UMD build that expects the globals
# React and ReactDOM, and the last one starts it.
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "gencaster-graphiql.js",
)
_STYLESHEETS = ("graphiql.min.css",)

# A same-origin absolute path: one leading slash, no scheme, host or markup characters.
_LOCAL_PATH = re.compile(r"/(?!/)[^\s\"'<>\\]*")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>Gencaster GraphiQL</title>
{stylesheets}
</head>
<body style="margin: 0; height: 100vh; overflow: hidden;">
<div id="graphiql" data-endpoint="{endpoint}" style="height: 100vh;">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
{scripts}
</body>
</html>
"""


def graphiql_html(*, endpoint: str = "/graphql", static_url: str = "/static/graphiql") -> str:
    """Return the GraphiQL page for ``endpoint`` with assets under ``static_url``.

    Both must be same-origin paths, so the page never references another host.
    """
    endpoint = _local_path(endpoint, "endpoint")
    base = _local_path(static_url, "static_url").rstrip("/")
    stylesheets = "\n".join(
        f'<link rel="stylesheet" href="{escape(f"{base}/{name}")}">' for name in _STYLESHEETS
    )
    scripts = "\n".join(f'<script src="{escape(f"{base}/{name}")}"></script>' for name in _SCRIPTS)
    return _PAGE.format(
        csp=escape(CONTENT_SECURITY_POLICY),
        endpoint=escape(endpoint),
        stylesheets=stylesheets,
        scripts=scripts,
    )


def _local_path(value: str, name: str) -> str:
    """Reject anything but a same-origin path; the page must not load from elsewhere."""
    if not _LOCAL_PATH.fullmatch(value):
        raise ValueError(f"{name} must be a same-origin path such as '/graphql', got {value!r}")
    return value
