"""/media/…: content types, byte ranges as browsers send them, and nothing outside the root."""

from __future__ import annotations

import asyncio
import os
import uuid
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from sanic.exceptions import NotFound

from gencaster.transport.media import open_media_file
from tests.audio.conftest import sound_bytes
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

RECEIVE_TIMEOUT = 5.0


@pytest.fixture
def sample(media_root: Path) -> tuple[str, bytes]:
    """A WAV file in the media root: its url path and its bytes."""
    content = sound_bytes("WAV", seconds=0.3)
    relative = f"audio/{uuid.uuid4().hex}.wav"
    (media_root / "audio").mkdir(parents=True, exist_ok=True)
    (media_root / relative).write_bytes(content)
    return f"/media/{relative}", content


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", slice(0, 10)),
        ("bytes=-10", slice(-10, None)),
        ("bytes=100-", slice(100, None)),
        ("bytes=5-99999999", slice(5, None)),
    ],
)
async def test_single_ranges_return_exactly_those_bytes(
    server: RunningServer, sample: tuple[str, bytes], header: str, expected: slice
):
    url, content = sample
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == content[expected]
    start = expected.start % len(content) if expected.start is not None else 0
    end = start + len(content[expected]) - 1
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(content)}"
    assert response.headers["content-length"] == str(len(content[expected]))


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc"])
async def test_ranges_we_do_not_serve_get_the_whole_file(
    server: RunningServer, sample: tuple[str, bytes], header: str
):
    url, content = sample
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(url, headers={"Range": header})
    assert response.status_code == 200 and response.content == content


async def test_a_range_past_the_end_is_416(server: RunningServer, sample: tuple[str, bytes]):
    url, content = sample
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(content)}"


async def test_head_and_content_types(server: RunningServer, media_root: Path):
    flac = sound_bytes("FLAC")
    relative = f"audio/{uuid.uuid4().hex}.flac"
    (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
    (media_root / relative).write_bytes(flac)
    async with httpx.AsyncClient(base_url=server.url) as http:
        head = await http.head(f"/media/{relative}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "audio/flac"
    assert head.headers["content-length"] == str(len(flac))
    assert head.headers["accept-ranges"] == "bytes"


async def test_unchanged_files_are_not_sent_again(server: RunningServer, sample: tuple[str, bytes]):
    url, _ = sample
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await http.get(url)
        again = await http.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
        stale = await http.get(
            url,
            headers={"Range": "bytes=0-3", "If-Range": formatdate(0, usegmt=True)},
        )
    assert again.status_code == 304
    assert stale.status_code == 200 and stale.content == first.content


async def _raw_status(server: RunningServer, path: str) -> int:
    """The status for a request path sent byte for byte (clients would normalise ``..``)."""
    reader, writer = await asyncio.open_connection(server.settings.host, server.settings.port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), RECEIVE_TIMEOUT)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_nothing_outside_the_media_root_or_in_its_hidden_folders_is_served(
    server: RunningServer, media_root: Path
):
    secret = media_root.parent / "secret.txt"
    secret.write_text("not for you")
    link = media_root / f"link-{uuid.uuid4().hex}"
    os.symlink(secret, link)
    spooled = media_root / ".incoming" / f"{uuid.uuid4().hex}.part"
    spooled.parent.mkdir(parents=True, exist_ok=True)
    spooled.write_bytes(b"half an upload")
    paths = [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/audio/..%2f..%2fsecret.txt",
        "/media/audio/%2e%2e/%2e%2e/secret.txt",
        "/media/..%5csecret.txt",
        f"/media/{link.name}",
        f"/media/.incoming/{spooled.name}",
        "/media/.incoming/",
        "/media/audio",
        "/media/audio/does-not-exist.wav",
    ]
    statuses = {path: await _raw_status(server, path) for path in paths}
    assert all(status in (400, 404) for status in statuses.values()), statuses


async def test_urls_of_names_with_spaces_are_served(server: RunningServer, media_root: Path):
    relative = f"audio/Rain take {uuid.uuid4().hex[:6]}.wav"
    content = sound_bytes("WAV")
    (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
    (media_root / relative).write_bytes(content)
    url = server.services.media.url_of(relative)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(url)
    assert response.status_code == 200 and response.content == content


async def test_media_storage_that_is_away_is_a_503_with_a_json_error(
    server: RunningServer, media_root: Path, sample: tuple[str, bytes]
):
    url, content = sample
    away = media_root.with_name(f"{media_root.name}-away")
    await asyncio.to_thread(media_root.rename, away)  # unmounted, or its disk gone
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            gone = await http.get(url)
            head = await http.head(url)
    finally:
        await asyncio.to_thread(away.rename, media_root)
    async with httpx.AsyncClient(base_url=server.url) as http:
        back = await http.get(url)
    assert gone.status_code == 503 and head.status_code == 503
    assert gone.headers["content-type"] == "application/json"
    assert gone.headers["retry-after"] == "5"
    [error] = gone.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"] == "The media storage is unavailable; try again shortly"
    assert back.status_code == 200 and back.content == content


async def test_a_file_gone_between_finding_and_opening_it_is_a_404(media_root: Path):
    # The race a 404 must also cover: deleted after the path check, before the open.
    found = media_root / f"{uuid.uuid4().hex}.wav"
    with pytest.raises(NotFound):
        await open_media_file(found)
