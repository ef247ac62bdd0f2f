"""GoogleBackend: Google Cloud Text-to-Speech, for deployments that have it installed.

``google-cloud-texttospeech`` is not a dependency; the client library is imported on first
use, and its absence is a ``SpeechError`` that says what to install. Credentials come from
the environment (``GOOGLE_APPLICATION_CREDENTIALS``), as the client library reads them.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping
from typing import Any

from ._base import SpeechError
from ._ssml import check_ssml

MISSING_CLIENT = (
    "the google backend needs google-cloud-texttospeech (pip install google-cloud-texttospeech)"
)
_GENDERS = {"male": "MALE", "female": "FEMALE"}


def google_available() -> bool:
    """Whether the client library can be imported, without importing it."""
    try:
        return importlib.util.find_spec("google.cloud.texttospeech") is not None
    except ModuleNotFoundError:  # ``google`` or ``google.cloud`` itself is missing
        return False


class GoogleBackend:
    """Implements ``SpeechBackend`` with the Cloud API; ``voices`` maps Gencaster voice names
    to Google voice names (``de-DE-Wavenet-B``); unmapped ones ask for a gender only."""

    def __init__(self, *, language: str = "de-DE", voices: Mapping[str, str] | None = None) -> None:
        self.language = language
        self.voices = dict(voices or {})
        self.name = f"google-{language}"
        self._client: Any = None
        self._client_lock = threading.Lock()

    def synthesise(self, ssml: str, voice: str) -> bytes:
        check_ssml(ssml)
        tts, api_errors = _import_client()
        try:
            response = self._get_client(tts).synthesize_speech(
                input=tts.SynthesisInput(ssml=ssml),
                voice=self._voice_params(tts, voice),
                audio_config=tts.AudioConfig(audio_encoding=tts.AudioEncoding.LINEAR16),
            )
        except api_errors as exc:
            raise SpeechError(f"Google Text-to-Speech failed: {type(exc).__name__}") from exc
        return bytes(response.audio_content)  # LINEAR16 comes with its WAV header

    def _voice_params(self, tts: Any, voice: str) -> Any:
        gender = tts.SsmlVoiceGender[_GENDERS.get(voice, "SSML_VOICE_GENDER_UNSPECIFIED")]
        return tts.VoiceSelectionParams(
            language_code=self.language, name=self.voices.get(voice, ""), ssml_gender=gender
        )

    def _get_client(self, tts: Any) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = tts.TextToSpeechClient()
            return self._client


def _import_client() -> tuple[Any, tuple[type[BaseException], ...]]:
    """The client module and the errors it raises for API and credential failures."""
    try:
        from google.api_core import exceptions as api_exceptions
        from google.auth import exceptions as auth_exceptions
        from google.cloud import texttospeech
    except ImportError as exc:
        raise SpeechError(MISSING_CLIENT) from exc
    return texttospeech, (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError)
