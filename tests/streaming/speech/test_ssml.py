"""Malformed SSML is a SpeechError (libespeak-ng itself would speak through it silently)."""

from __future__ import annotations

import pytest

from gencaster.streaming.speech import EspeakBackend, SpeechError, wav_duration


@pytest.mark.parametrize(
    ("ssml", "reason"),
    [
        ("<speak>Hallo <emphasis>Welt</speak>", "mismatched tag"),
        ("<speak>Hallo Welt", "no element found|mismatched tag"),
        ("<<<>>>", "not well-formed"),
        ("<speak>Tom & Jerry</speak>", "not well-formed"),
        ("<speak>&bogus; Welt</speak>", "undefined entity"),
        ('<!DOCTYPE speak [<!ENTITY x "y">]><speak>&x;</speak>', "DOCTYPE"),
        ("<speak>Null\x00Byte</speak>", "not well-formed"),
    ],
)
def test_malformed_ssml_is_a_speech_error_that_names_the_problem(
    backend: EspeakBackend, ssml: str, reason: str
) -> None:
    with pytest.raises(SpeechError, match=f"malformed SSML: .*(?:{reason})"):
        backend.synthesise(ssml, "default")


def test_the_error_position_refers_to_the_callers_text(backend: EspeakBackend) -> None:
    with pytest.raises(SpeechError, match="line 1, column 8"):
        backend.synthesise("<speak><<</speak>", "default")


@pytest.mark.parametrize(
    "ssml",
    [
        "Hallo Welt.",
        'Hallo <break time="300ms"/> Welt.',
        '<?xml version="1.0"?>\n<speak xml:lang="de">Hallo &amp; Tschüss.</speak>',
        "  <speak>Leerzeichen davor</speak>",
        "<speak><unknown-tag>Unbekannt</unknown-tag> wird gesprochen.</speak>",
    ],
)
def test_well_formed_fragments_and_documents_are_spoken(backend: EspeakBackend, ssml: str) -> None:
    assert wav_duration(backend.synthesise(ssml, "default")) > 0.5


def test_empty_ssml_gives_a_short_silent_file(backend: EspeakBackend) -> None:
    assert wav_duration(backend.synthesise("<speak></speak>", "default")) < 0.5
