"""WAV encoding and inspection with the stdlib ``wave`` module."""

from __future__ import annotations

import array
import io
import sys
import wave

SAMPLE_WIDTH = 2  # bytes: eSpeak NG renders signed 16-bit samples


def encode_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap native-endian 16-bit mono samples in a WAV container (which is little-endian)."""
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI machine
        samples = array.array("h", pcm)
        samples.byteswap()
        pcm = samples.tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def wav_duration(data: bytes) -> float:
    """Length of a WAV file in seconds; ``ValueError`` if ``data`` is not a PCM WAV file."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            return reader.getnframes() / reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from exc
