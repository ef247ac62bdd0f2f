"""``GET /media/<path>``: audio files for the editor, with byte ranges for seeking.

Browsers seek in audio by asking for byte ranges, so single ranges are answered with
206 and exactly those bytes. Only regular files under the media root are served: a
path with an empty, dot-led (``..``, ``.incoming``) or backslash part is refused, and
the resolved file (after symlinks) must still lie inside the root. Paths are checked
after percent-decoding, so ``%2e%2e`` is ``..`` there too.

A file that is not there is a 404; storage that cannot be read (the media root
gone or unmounted, an I/O or permission error) is a 503 with the JSON error body
the GraphQL route gives, code ``SERVICE_UNAVAILABLE``, never a 500 page.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import mimetypes
import os
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from sanic import Request, Sanic
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, json, validate_file

from gencaster.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
CONTENT_TYPES = {".wav": "audio/wav", ".flac": "audio/flac"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


# What a missing file looks like to the file system: a 404, not an outage.
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG})


class StorageUnavailable(ServiceUnavailable):
    """The media root cannot be read right now (503)."""

    def __init__(self) -> None:
        super().__init__("The media storage is unavailable; try again shortly")


class RangeNotSatisfiable(ValueError):
    """The requested range lies outside the file (answered with 416)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of a ``Range`` header, clamped to the file; ``None`` means the whole file.

    Headers we do not understand (other units, several ranges) are ignored, which RFC 9110
    allows: the client then gets the whole file with 200.
    """
    match = _RANGE.fullmatch((header or "").replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - length), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(header)
    return ByteRange(start, end)


def resolve_media_path(root: Path, relative: str) -> Path | None:
    """The regular file ``relative`` names inside ``root``, or ``None``; may block (stat).

    Raises ``StorageUnavailable`` when the root itself cannot be read.
    """
    parts = relative.split("/")
    if any(not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    if not root.is_dir():
        raise StorageUnavailable()
    base = root.resolve()
    try:
        candidate = base.joinpath(*parts).resolve(strict=True)
    except RuntimeError:  # a symlink loop
        return None
    except OSError as error:
        if error.errno in _MISSING:
            return None
        raise StorageUnavailable() from error
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def content_type_of(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


async def _send_file(
    request: Request, handle: BinaryIO, headers: dict[str, str], part: ByteRange, kind: str
) -> None:
    status = 206 if "Content-Range" in headers else 200
    response = await request.respond(status=status, headers=headers, content_type=kind)
    offset = part.start
    while offset <= part.end:
        try:
            data = await asyncio.to_thread(
                _read_at, handle, offset, min(CHUNK_BYTES, part.end - offset + 1)
            )
        except OSError as error:  # the status is sent: the client sees a short body
            logger.warning("Media storage failed while sending a file: %r", error)
            break
        if not data:  # the file shrank under us; the client sees a short body
            break
        await response.send(data)
        offset += len(data)
    await response.eof()


def storage_unavailable() -> HTTPResponse:
    """503 with the JSON error body the GraphQL route gives when a service is away."""
    error = StorageUnavailable()
    body = {
        "data": None,
        "errors": [{"message": error.message, "extensions": {"code": error.code}}],
    }
    return json(body, status=503, headers={"Retry-After": "5"})


def media_handler(root: Path) -> Callable[[Request, str], Coroutine[Any, Any, HTTPResponse | None]]:
    async def serve_media(request: Request, path: str) -> HTTPResponse | None:
        try:
            return await _serve_media(request, root, path)
        except StorageUnavailable as error:
            logger.warning("Media storage unavailable: %r", error.__cause__ or error)
            return storage_unavailable()

    return serve_media


async def open_media_file(found: Path) -> tuple[BinaryIO, os.stat_result]:
    """The file, open, and its status; gone since it was found -> 404, unreadable -> 503."""
    try:
        handle = await asyncio.to_thread(found.open, "rb")
    except OSError as error:
        if error.errno in _MISSING:
            raise NotFound("File not found") from error
        raise StorageUnavailable() from error
    try:
        return handle, await asyncio.to_thread(os.fstat, handle.fileno())
    except OSError as error:
        await asyncio.to_thread(handle.close)
        raise StorageUnavailable() from error


async def _serve_media(request: Request, root: Path, path: str) -> HTTPResponse | None:
    found = await asyncio.to_thread(resolve_media_path, root, unquote(path))
    if found is None:
        raise NotFound("File not found")
    handle, stats = await open_media_file(found)
    try:
        return await _answer(request, found, handle, stats)
    finally:
        await asyncio.to_thread(handle.close)


async def _answer(
    request: Request, found: Path, handle: BinaryIO, stats: os.stat_result
) -> HTTPResponse | None:
    last_modified = formatdate(stats.st_mtime, usegmt=True)
    not_modified = await validate_file(request.headers, stats.st_mtime)
    if not_modified is not None:
        return not_modified
    headers = {
        "Accept-Ranges": "bytes",
        "Last-Modified": last_modified,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != last_modified:
        range_header = None  # the client's copy is stale: send all of it
    try:
        part = parse_range(range_header, stats.st_size)
    except RangeNotSatisfiable:
        return HTTPResponse(status=416, headers={"Content-Range": f"bytes */{stats.st_size}"})
    if part is None:
        part = ByteRange(0, stats.st_size - 1)
    else:
        headers["Content-Range"] = f"bytes {part.start}-{part.end}/{stats.st_size}"
    headers["Content-Length"] = str(part.length)
    if request.method == "HEAD":
        return HTTPResponse(
            status=206 if "Content-Range" in headers else 200,
            headers=headers,
            content_type=content_type_of(found),
        )
    await _send_file(request, handle, headers, part, content_type_of(found))
    return None


def register_media(app: Sanic, *, root: Path, media_url: str) -> None:
    """Serve ``root`` at the path of ``media_url`` (which may be a full URL)."""
    prefix = urlsplit(media_url).path.rstrip("/") or "/media"
    app.add_route(
        media_handler(root),
        f"{prefix}/<path:path>",
        methods=["GET", "HEAD"],
        name="media",
    )
