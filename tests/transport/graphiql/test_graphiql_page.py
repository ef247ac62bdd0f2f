"""The GraphiQL page loads only vendored, same-origin assets, and those assets are complete."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from gencaster.transport.graphiql import STATIC_DIR, graphiql_html
from tests.transport.graphiql.conftest import SERVED_STATIC_URL, StaticServer, parse_page

REPO_ROOT = Path(__file__).resolve().parents[3]
VENDOR_SCRIPT = REPO_ROOT / "scripts" / "vendor-graphiql.sh"
VENDORED = (
    "graphiql.min.js",
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
)
LICENSES = ("graphiql.LICENSE", "react.LICENSE", "react-dom.LICENSE")


def local_assets(html: str, static_url: str) -> list[str]:
    """Every script and stylesheet the page loads, as names relative to ``static_url``."""
    refs = parse_page(html)
    hrefs = [href for rel, href in refs.links if rel == "stylesheet"]
    names = []
    for url in [*refs.scripts, *hrefs]:
        assert url.startswith(f"{static_url}/"), url
        names.append(url.removeprefix(f"{static_url}/"))
    return names


def test_page_loads_only_assets_that_exist_in_static_dir() -> None:
    names = local_assets(graphiql_html(), "/static/graphiql")
    assert "graphiql.min.js" in names
    assert "graphiql.min.css" in names
    for name in names:
        assert (STATIC_DIR / name).is_file(), name


def test_react_loads_before_graphiql_and_the_boot_script_last() -> None:
    scripts = parse_page(graphiql_html()).scripts
    names = [src.rsplit("/", 1)[1] for src in scripts]
    assert names == [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "gencaster-graphiql.js",
    ]


def test_page_names_no_external_url() -> None:
    html = graphiql_html()
    for marker in ("http://", "https://", "//cdn", "unpkg", "jsdelivr"):
        assert marker not in html.lower(), marker
    refs = parse_page(html)
    for _rel, href in refs.links:
        assert href.startswith("/static/graphiql/") or href.startswith("data:"), href


def test_page_has_no_inline_script_and_a_csp_that_forbids_one() -> None:
    refs = parse_page(graphiql_html())
    assert refs.inline_scripts == []
    assert refs.csp is not None
    directives = dict(part.strip().split(" ", 1) for part in refs.csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"


def test_endpoint_and_static_url_are_used_as_given() -> None:
    html = graphiql_html(endpoint="/api/graphql", static_url="/assets/gq/")
    assert parse_page(html).endpoint == "/api/graphql"
    names = local_assets(html, "/assets/gq")
    assert len(names) == 5


@pytest.mark.parametrize(
    "value",
    [
        "https://cdn.example.org/graphiql",
        "//cdn.example.org/graphiql",
        "graphql",
        "",
        '/graphql"><script>alert(1)</script>',
        "/graph ql",
    ],
)
def test_non_local_paths_are_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="same-origin path"):
        graphiql_html(endpoint=value)
    with pytest.raises(ValueError, match="same-origin path"):
        graphiql_html(static_url=value)


def test_licence_files_are_vendored_with_the_assets() -> None:
    for name in LICENSES:
        text = (STATIC_DIR / "licenses" / name).read_text()
        assert "MIT License" in text and "Permission is hereby granted" in text, name
    notices = (STATIC_DIR / "licenses" / "THIRD-PARTY-NOTICES.txt").read_text()
    for bundled in ("graphql@", "graphql-ws@", "codemirror@", "@graphiql/react@"):
        assert f"\n{bundled}" in notices, bundled


def test_readme_names_the_versions_the_vendor_script_pins() -> None:
    script = VENDOR_SCRIPT.read_text()
    readme = (STATIC_DIR / "README.md").read_text()
    for variable, package in (("GRAPHIQL_VERSION", "graphiql"), ("REACT_VERSION", "react")):
        match = re.search(rf'{variable}="\$\{{{variable}:-([0-9.]+)\}}"', script)
        assert match, variable
        assert f"`{package}@{match.group(1)}`" in readme, package
    assert "`react-dom@" + re.search(r"REACT_VERSION:-([0-9.]+)", script)[1] in readme


def test_vendored_bundle_carries_the_websocket_client_and_no_map_reference() -> None:
    bundle = (STATIC_DIR / "graphiql.min.js").read_text()
    assert "graphql-transport-ws" in bundle  # graphql-ws is inside: no separate file needed
    for name in VENDORED:
        assert "sourceMappingURL" not in (STATIC_DIR / name).read_text()[-300:], name


def test_boot_script_subscribes_over_websocket_and_sends_cookies() -> None:
    boot = (STATIC_DIR / "gencaster-graphiql.js").read_text()
    assert 'credentials: "same-origin"' in boot
    assert "subscriptionUrl: subscriptionUrl" in boot
    assert "https://" not in boot and "http://" not in boot


def test_vendored_folder_stays_small() -> None:
    total = sum(path.stat().st_size for path in STATIC_DIR.rglob("*") if path.is_file())
    assert total < 5_000_000


async def test_sanic_serves_the_page_and_every_asset(static_server: StaticServer) -> None:
    async with httpx.AsyncClient(base_url=static_server.url, timeout=10) as client:
        page = await client.get("/graphql")
        assert page.status_code == 200
        names = local_assets(page.text, SERVED_STATIC_URL)
        for name in names:
            asset = await client.get(f"{SERVED_STATIC_URL}/{name}")
            assert asset.status_code == 200, name
            assert asset.content == (STATIC_DIR / name).read_bytes(), name
            expected = "text/css" if name.endswith(".css") else "javascript"
            assert expected in asset.headers["content-type"], name
