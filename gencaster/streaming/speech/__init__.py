"""Text-to-speech: SSML in, a complete WAV file out.

``EspeakBackend`` works offline with the eSpeak NG library and voices that the
``espeakng-loader`` wheel ships; ``GoogleBackend`` uses Google Cloud TTS when its client
library is installed. Backends block, so callers await ``synthesise``, which runs each
backend on its own single worker thread.

SSML must be well-formed XML (a ``<speak>`` document or a bare fragment); anything else
is a ``SpeechError`` before the library sees it, since eSpeak NG would mumble through it.
"""

from __future__ import annotations

from typing import Any

from . import _google
from ._base import SpeechBackend, SpeechError, synthesise
from ._espeak import EspeakBackend
from ._google import GoogleBackend
from ._wav import wav_duration

__all__ = [
    "EspeakBackend",
    "GoogleBackend",
    "SpeechBackend",
    "SpeechError",
    "create_speech_backend",
    "synthesise",
    "wav_duration",
]


def create_speech_backend(name: str = "espeak", **options: Any) -> SpeechBackend:
    """Build a backend by name; ``options`` go to its constructor (``language``, ``voices``)."""
    if name == "espeak":
        return EspeakBackend(**options)
    if name == "google":
        if not _google.google_available():
            raise SpeechError(_google.MISSING_CLIENT)
        return GoogleBackend(**options)
    raise SpeechError(f"unknown speech backend {name!r}; choose 'espeak' or 'google'")
