"""Range headers as browsers send them when seeking, clamped to the file."""

from __future__ import annotations

import pytest

from gencaster.transport.media import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, ByteRange(0, 0)),
        ("bytes=-3", 10, ByteRange(7, 9)),
        ("bytes=-30", 10, ByteRange(0, 9)),
        ("bytes = 2 - 4", 10, ByteRange(2, 4)),
        ("bytes=-", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=5-2", 10), ("bytes=-0", 10)]
)
def test_unsatisfiable_ranges(header: str, size: int):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)
