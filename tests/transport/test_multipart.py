"""The streaming multipart parser on its own: chunk boundaries, limits, spool files, memory."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gencaster.transport.multipart import MultipartError, MultipartParser, UploadedFile

BOUNDARY = "----WebKitFormBoundaryq3Xz"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
# File content that looks like delimiters without being one.
TRICKY = b"RIFF\r\n--" + BOUNDARY[:-1].encode() + b"\r\n\r\n--" + b"\r\n-" + bytes(range(256)) * 9


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    headers = f"Content-Disposition: {disposition}"
    if filename is not None:
        headers += f'; filename="{filename}"\r\nContent-Type: audio/wav'
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n"


def body(files: dict[str, bytes], paths: dict[str, list[str]], variables: dict) -> bytes:
    operations = json.dumps({"query": "mutation { x }", "variables": variables}).encode()
    parts = [part("operations", operations), part("map", json.dumps(paths).encode())]
    parts += [part(key, data, filename=f"{key}.wav") for key, data in files.items()]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def parser(tmp_path: Path, limit: int = 1 << 20) -> MultipartParser:
    return MultipartParser(spool_dir=tmp_path / "spool", max_file_bytes=limit)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 17, 64, 1000, 1 << 20])
async def test_files_survive_any_chunking(tmp_path: Path, size: int):
    data = body({"0": TRICKY}, {"0": ["variables.upload.file"]}, {"upload": {"file": None}})
    request = await parser(tmp_path)(chunks(data, size), CONTENT_TYPE)
    upload = request.operations["variables"]["upload"]["file"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.content_type, upload.size) == (
        "0.wav",
        "audio/wav",
        len(TRICKY),
    )
    assert upload.path is not None and upload.path.read_bytes() == TRICKY
    await request.discard()
    assert list((tmp_path / "spool").iterdir()) == []


async def test_one_file_can_fill_several_places_and_list_items(tmp_path: Path):
    variables = {"files": [None, None], "again": None}
    data = body(
        {"a": b"first", "b": b"second"},
        {"a": ["variables.files.0", "variables.again"], "b": ["variables.files.1"]},
        variables,
    )
    request = await parser(tmp_path)(chunks(data, 7), CONTENT_TYPE)
    files = request.operations["variables"]["files"]
    assert [upload.path.read_bytes() for upload in files] == [b"first", b"second"]
    assert request.operations["variables"]["again"] is files[0]
    await request.discard()


async def test_preamble_padding_and_epilogue_are_ignored(tmp_path: Path):
    data = body({"0": b"abc"}, {"0": ["variables.f"]}, {"f": None})
    data = b"preamble\r\n" + data.replace(b"\r\n", b"  \r\n", 1) + b"epilogue"
    request = await parser(tmp_path)(chunks(data, 4), CONTENT_TYPE)
    assert request.operations["variables"]["f"].path.read_bytes() == b"abc"
    await request.discard()


async def test_a_file_over_the_limit_is_counted_but_not_kept(tmp_path: Path):
    data = body({"0": b"x" * 5000}, {"0": ["variables.f"]}, {"f": None})
    request = await parser(tmp_path, limit=4096)(chunks(data, 1000), CONTENT_TYPE)
    upload = request.operations["variables"]["f"]
    assert upload.exceeded_limit and upload.path is None and upload.size == 5000
    assert list((tmp_path / "spool").iterdir()) == []


async def test_without_keep_files_nothing_is_written(tmp_path: Path):
    data = body({"0": b"secret"}, {"0": ["variables.f"]}, {"f": None})
    request = await parser(tmp_path)(chunks(data, 3), CONTENT_TYPE, keep_files=False)
    upload = request.operations["variables"]["f"]
    assert upload.path is None and upload.size == 6
    assert not (tmp_path / "spool").exists()


async def test_a_body_cut_short_fails_and_leaves_no_spool_file(tmp_path: Path):
    data = body({"0": b"y" * 10_000}, {"0": ["variables.f"]}, {"f": None})
    with pytest.raises(MultipartError, match="ended"):
        await parser(tmp_path)(chunks(data[:6000], 512), CONTENT_TYPE)
    assert list((tmp_path / "spool").iterdir()) == []


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=" + "b" * 71]
)
async def test_a_missing_or_overlong_boundary_is_refused(tmp_path: Path, content_type: str):
    with pytest.raises(MultipartError, match="boundary"):
        await parser(tmp_path)(chunks(b"", 1), content_type)


async def test_a_large_upload_is_spooled_with_bounded_memory(tmp_path: Path):
    size = 32 * 1024 * 1024
    head = body({}, {"0": ["variables.f"]}, {"f": None}).rsplit(b"--" + BOUNDARY.encode(), 1)[0]

    async def stream() -> AsyncIterator[bytes]:
        yield head + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; '.encode()
        yield b'filename="big.wav"\r\n\r\n'
        block = b"\x01" * 65536
        for _ in range(size // len(block)):
            yield block
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    tracemalloc.start()
    try:
        request = await parser(tmp_path, limit=size)(stream(), CONTENT_TYPE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    upload = request.operations["variables"]["f"]
    assert upload.size == size and upload.path.stat().st_size == size
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while spooling {size / 1e6} MB"
    await request.discard()
