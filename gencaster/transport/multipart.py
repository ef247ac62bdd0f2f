"""The GraphQL multipart request spec, parsed while the body streams in.

Upload clients (urql's and Apollo's) send three kinds of ``multipart/form-data`` parts,
in this order: ``operations`` (the usual request JSON, with ``null`` where each file
goes), ``map`` (which file part fills which variable, e.g. ``{"0":
["variables.newAudioFile.file"]}``) and then one part per file. File parts are written
to a spool directory block by block as they arrive, so an upload of any size costs a
bounded amount of memory; a file past the size limit stops being written and is
deleted at once, and the rest of it is read and dropped, so the client still gets its
answer. Nothing here knows the web framework: the body is any async iterable of bytes.

Splitting the body into parts is python-multipart's job (maintained and fuzzed); this
module keeps the spec's layer on top: part order, the map, spooling and the limits.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser as Splitter

from gencaster.transport.decoding import UndecodableInput, decode_json

MAX_FIELD_BYTES = 4 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_FILES = 16
WRITE_BLOCK_BYTES = 1024 * 1024
# Room for the operations, the map and the part headers around the files.
BODY_OVERHEAD_BYTES = 1024 * 1024 + MAX_FIELD_BYTES * 2


class MultipartError(ValueError):
    """The body does not follow the multipart request spec; the message says how."""


@dataclass
class UploadedFile:
    """One file part, as resolvers receive it in place of an ``Upload`` variable.

    ``filename`` is what the client called the file: a label, never a path on our side.
    ``path`` is the spooled content, or ``None`` when it was not kept (over ``limit``,
    or the caller may not upload); ``size`` counts every byte received either way.
    """

    filename: str
    content_type: str
    limit: int
    size: int = 0
    path: Path | None = None
    exceeded_limit: bool = False


@dataclass
class MultipartRequest:
    """The ``operations`` payload with each mapped ``null`` replaced by its upload."""

    operations: dict[str, Any]
    uploads: list[UploadedFile] = field(default_factory=list)

    async def discard(self) -> None:
        """Delete every spooled file a resolver did not take over (idempotent)."""
        for upload in self.uploads:
            await discard_upload(upload)


async def discard_upload(upload: UploadedFile) -> None:
    path, upload.path = upload.path, None
    if path is not None:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a ``multipart/form-data`` content type."""
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise MultipartError("multipart/form-data needs a boundary of 1 to 70 characters")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MultipartError("The multipart boundary must be ASCII") from exc


@dataclass(frozen=True)
class PartHeaders:
    name: str
    filename: str | None
    content_type: str


def _part_headers(raw: bytes) -> PartHeaders:
    message = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    if message.get_content_disposition() != "form-data":
        raise MultipartError("Every part needs Content-Disposition: form-data")
    name = message.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise MultipartError("Every part needs a name")
    content_type = message.get("content-type", "application/octet-stream")
    return PartHeaders(name=name, filename=message.get_filename(), content_type=content_type)


class PartReader:
    """Splits a multipart body into parts with python-multipart; bodies come in pieces.

    python-multipart calls back as bytes are written to it. The calls of one chunk are
    queued and handed on as each part's headers and an async iterator of its body, so at
    most one chunk of file data is held at a time. It expects the body to open with the
    first boundary line; ``_opening`` skips a preamble and padding before handing on.
    """

    def __init__(self, body: AsyncIterable[bytes], boundary: bytes) -> None:
        self._chunks = aiter(body)
        self._boundary = boundary
        self._events: deque[tuple[str, Any]] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0
        self._lines: list[bytes] = []
        self._ended = False
        self._splitter = Splitter(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    async def parts(self) -> AsyncIterator[tuple[PartHeaders, AsyncIterator[bytes]]]:
        """Each part's headers and body; a body the caller leaves unread is skipped."""
        self._write(await self._opening())
        while (event := await self._next_event()) is not None:
            kind, value = event
            if kind != "headers":
                continue
            body = self._body()
            yield value, body
            async for _ in body:
                pass
        # Read the epilogue too: the server only reuses a connection whose body was read.
        async for _ in self._chunks:
            pass

    async def _opening(self) -> bytes:
        """The body from its first boundary line on, that line without padding."""
        delimiter = b"--" + self._boundary
        buffer = bytearray(b"\r\n")  # the first delimiter may open the body
        while (found := buffer.find(b"\r\n" + delimiter)) < 0 or buffer.find(
            b"\r\n", found + 2
        ) < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                raise MultipartError("The preamble is too long")
            buffer += await self._chunk()
        line_end = buffer.find(b"\r\n", found + 2)
        after = bytes(buffer[found + 2 + len(delimiter) : line_end])
        if after.startswith(b"--"):  # the closing delimiter: no parts at all
            return bytes(buffer[found + 2 :])
        if after.strip(b" \t"):
            raise MultipartError("A boundary line has text after the boundary")
        return delimiter + bytes(buffer[line_end:])

    async def _chunk(self) -> bytes:
        chunk = await anext(self._chunks, None)
        if chunk is None:
            raise MultipartError("The body ended before the closing boundary")
        return chunk

    async def _next_event(self) -> tuple[str, Any] | None:
        while not self._events:
            if self._ended:
                return None
            self._write(await self._chunk())
        return self._events.popleft()

    async def _body(self) -> AsyncIterator[bytes]:
        while (event := await self._next_event()) is not None and event[0] == "data":
            yield event[1]

    def _write(self, chunk: bytes) -> None:
        if self._ended:
            return
        try:
            self._splitter.write(chunk)
        except MultipartParseError as exc:
            raise MultipartError(f"The multipart body is malformed: {exc}") from None

    # python-multipart's callbacks, in the order it calls them for each part.
    def _part_begin(self) -> None:
        self._lines, self._header_bytes = [], 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._value += data[start:end]

    def _count_header(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            raise MultipartError("The part header is too long")

    def _header_end(self) -> None:
        self._lines.append(bytes(self._field) + b": " + bytes(self._value))
        self._field, self._value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        self._events.append(("headers", _part_headers(b"\r\n".join(self._lines))))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", bytes(data[start:end])))

    def _part_end(self) -> None:
        self._events.append(("end", None))

    def _end(self) -> None:
        self._ended = True


async def _read_field(body: AsyncIterator[bytes], name: str) -> Any:
    data = bytearray()
    async for piece in body:
        data += piece
        if len(data) > MAX_FIELD_BYTES:
            raise MultipartError(f"The {name} part is too long")
    try:
        return decode_json(data, f"The {name} part")
    except UndecodableInput as exc:
        raise MultipartError(exc.reason) from exc


async def _spool(body: AsyncIterator[bytes], upload: UploadedFile, spool_dir: Path | None) -> None:
    """Write the part to a new file in ``spool_dir`` (or only count it, without one)."""
    handle = None
    if spool_dir is not None:
        upload.path = spool_dir / f"{uuid.uuid4().hex}.part"
        handle = await asyncio.to_thread(upload.path.open, "xb")
    pending = bytearray()
    try:
        async for piece in body:
            upload.size += len(piece)
            if handle is None:
                continue
            if upload.size > upload.limit:
                upload.exceeded_limit = True
                await asyncio.to_thread(handle.close)
                handle = None
                pending.clear()
                await discard_upload(upload)
                continue
            pending += piece
            if len(pending) >= WRITE_BLOCK_BYTES:
                await asyncio.to_thread(handle.write, pending)
                pending.clear()
        if handle is not None and pending:
            await asyncio.to_thread(handle.write, pending)
    finally:
        if handle is not None:
            await asyncio.to_thread(handle.close)


def _step(container: Any, key: str) -> tuple[Any, Any]:
    """The container's child at ``key`` (a dict key or a list index) and the index used."""
    if isinstance(container, dict) and key in container:
        return container[key], key
    if isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return container[int(key)], int(key)
    raise KeyError(key)


def _place(operations: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` where ``path`` (``variables.a.0.b``) points; that spot must be null."""
    keys = path.split(".")
    if len(keys) < 2 or keys[0] != "variables":
        raise MultipartError(f"Map path {path!r} must point into variables")
    container: Any = operations
    try:
        for key in keys[:-1]:
            container, _ = _step(container, key)
        current, index = _step(container, keys[-1])
    except KeyError as exc:
        raise MultipartError(f"Map path {path!r} is not in the operations") from exc
    if current is not None and not isinstance(current, UploadedFile):
        raise MultipartError(f"Map path {path!r} must be null in the operations")
    container[index] = value


def _checked_map(raw: Any, operations: dict[str, Any]) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise MultipartError("The map part must be a JSON object")
    if len(raw) > MAX_FILES:
        raise MultipartError(f"At most {MAX_FILES} files per request")
    for key, paths in raw.items():
        if not (isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)):
            raise MultipartError(f"Map entry {key!r} must be a non-empty list of paths")
        for path in paths:
            _place(operations, path, None)  # checks the path before any file is read
    return raw


class MultipartParser:
    """Reads one GraphQL multipart request; ``spool_dir`` should share a disk with media.

    ``keep_files=False`` reads file parts without writing them anywhere: for callers
    who may not upload, whose request fails the permission check anyway.
    """

    def __init__(self, *, spool_dir: Path, max_file_bytes: int) -> None:
        self.spool_dir = spool_dir
        self.max_file_bytes = max_file_bytes

    @property
    def body_limit(self) -> int:
        """Files up to twice the limit are read to the end and refused with a typed answer."""
        return 2 * self.max_file_bytes + BODY_OVERHEAD_BYTES

    async def __call__(
        self, body: AsyncIterable[bytes], content_type: str, *, keep_files: bool = True
    ) -> MultipartRequest:
        reader = PartReader(body, boundary_of(content_type))
        request = MultipartRequest(operations={})
        try:
            await self._read(reader, request, keep_files)
        except BaseException:
            await request.discard()
            raise
        return request

    async def _read(self, reader: PartReader, request: MultipartRequest, keep: bool) -> None:
        files: dict[str, list[str]] | None = None
        received: set[str] = set()
        if keep:
            await asyncio.to_thread(self.spool_dir.mkdir, parents=True, exist_ok=True)
        async for headers, body in reader.parts():
            if not request.operations:
                request.operations = await self._operations(headers, body)
            elif files is None:
                if headers.name != "map":
                    raise MultipartError("The second part must be the map")
                files = _checked_map(await _read_field(body, "map"), request.operations)
            else:
                await self._file(headers, body, files, received, request, keep)
        if files is None:
            raise MultipartError("A multipart request needs the operations and map parts")
        missing = sorted(set(files) - received)
        if missing:
            raise MultipartError(f"File part {missing[0]!r} is missing")

    async def _operations(self, headers: PartHeaders, body: AsyncIterator[bytes]) -> Any:
        if headers.name != "operations":
            raise MultipartError("The first part must be the operations")
        operations = await _read_field(body, "operations")
        if isinstance(operations, list):
            raise MultipartError("Batched operations are not supported; send one at a time")
        if not isinstance(operations, dict) or not operations:
            raise MultipartError("The operations part must be a JSON object")
        return operations

    async def _file(
        self,
        headers: PartHeaders,
        body: AsyncIterator[bytes],
        files: dict[str, list[str]],
        received: set[str],
        request: MultipartRequest,
        keep: bool,
    ) -> None:
        if headers.name not in files:
            raise MultipartError(f"Part {headers.name!r} is not in the map")
        if headers.name in received:
            raise MultipartError(f"File part {headers.name!r} was sent twice")
        received.add(headers.name)
        upload = UploadedFile(
            filename=headers.filename or "",
            content_type=headers.content_type,
            limit=self.max_file_bytes,
        )
        request.uploads.append(upload)
        await _spool(body, upload, self.spool_dir if keep else None)
        for path in files[headers.name]:
            _place(request.operations, path, upload)
