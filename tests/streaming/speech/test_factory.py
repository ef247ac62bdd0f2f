"""create_speech_backend, the optional Google backend, the public surface and helpers."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gencaster.streaming.speech as speech
from gencaster.streaming.speech import (
    EspeakBackend,
    GoogleBackend,
    SpeechBackend,
    SpeechError,
    create_speech_backend,
    wav_duration,
)
from gencaster.streaming.speech._google import google_available

needs_no_google = pytest.mark.skipif(
    google_available(), reason="google-cloud-texttospeech is installed here"
)


def test_espeak_is_the_default_and_takes_options() -> None:
    assert isinstance(create_speech_backend(), EspeakBackend)
    backend = create_speech_backend("espeak", language="en")
    assert isinstance(backend, SpeechBackend)
    assert backend.name == "espeak-en"


def test_an_unknown_backend_name_is_a_speech_error() -> None:
    with pytest.raises(SpeechError, match="unknown speech backend 'festival'"):
        create_speech_backend("festival")


@needs_no_google
def test_google_without_its_client_library_is_a_clear_speech_error() -> None:
    with pytest.raises(SpeechError, match="pip install google-cloud-texttospeech"):
        create_speech_backend("google")


@needs_no_google
def test_a_google_backend_built_directly_fails_on_use_with_the_same_message() -> None:
    backend = GoogleBackend(language="de-DE")
    assert isinstance(backend, SpeechBackend)
    assert backend.name == "google-de-DE"
    with pytest.raises(SpeechError, match="pip install google-cloud-texttospeech"):
        backend.synthesise("<speak>Hallo</speak>", "default")


def test_google_checks_the_ssml_before_anything_else() -> None:
    with pytest.raises(SpeechError, match="malformed SSML"):
        GoogleBackend().synthesise("<speak>kaputt", "default")


def test_wav_duration_refuses_what_is_not_a_wav_file() -> None:
    with pytest.raises(ValueError, match="not a PCM WAV file"):
        wav_duration(b"ID3 not a wave file at all")


def test_only_the_documented_names_are_public() -> None:
    public = {name for name in dir(speech) if not name.startswith("_")}
    assert public - {"annotations", "Any"} == set(speech.__all__)


def test_importing_does_not_load_the_library() -> None:
    """Loading happens on the first synthesis, so processes that never speak never pay."""
    code = (
        "import gencaster.streaming.speech\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('libespeak-ng' in maps)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
