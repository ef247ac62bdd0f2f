"""EspeakBackend against the real libespeak-ng shipped by espeakng-loader."""

from __future__ import annotations

import io
import wave

import pytest

from gencaster.streaming.speech import EspeakBackend, SpeechError, _libespeak, wav_duration

from .conftest import PARAGRAPH, SENTENCE, median_pitch


def test_a_german_sentence_becomes_a_mono_16_bit_wav_of_plausible_length(
    backend: EspeakBackend,
) -> None:
    data = backend.synthesise(SENTENCE, "default")
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getframerate() == 22050
        assert reader.getnframes() > 0
    assert 1.0 < wav_duration(data) < 10.0


def test_a_longer_text_gives_a_longer_file(backend: EspeakBackend) -> None:
    short = wav_duration(backend.synthesise(SENTENCE, "default"))
    long = wav_duration(backend.synthesise(PARAGRAPH, "default"))
    assert long > 3 * short


def test_a_two_second_break_adds_about_two_seconds(backend: EspeakBackend) -> None:
    plain = wav_duration(backend.synthesise("<speak>Hallo Welt.</speak>", "default"))
    paused = backend.synthesise('<speak>Hallo <break time="2s"/> Welt.</speak>', "default")
    assert 1.7 < wav_duration(paused) - plain < 2.3


def test_female_voice_speaks_about_an_octave_above_male(backend: EspeakBackend) -> None:
    male = median_pitch(backend.synthesise(SENTENCE, "male"))
    female = median_pitch(backend.synthesise(SENTENCE, "female"))
    assert 70 < male < 140
    assert female > 1.5 * male


def test_ssml_voice_gender_switches_the_voice_inside_the_text(backend: EspeakBackend) -> None:
    text = SENTENCE.removeprefix("<speak>").removesuffix("</speak>")
    female = f'<speak><voice gender="female">{text}</voice></speak>'
    male = f'<speak><voice gender="male">{text}</voice></speak>'
    assert median_pitch(backend.synthesise(female, "male")) > 150
    assert median_pitch(backend.synthesise(male, "female")) < 140


def test_each_call_starts_from_its_own_voice(backend: EspeakBackend) -> None:
    """An unclosed <voice> would leave libespeak-ng in that voice; the next call resets it."""
    backend.synthesise('<speak><voice gender="female">Hallo</voice></speak>', "default")
    assert median_pitch(backend.synthesise(SENTENCE, "default")) < 140


def test_umlauts_and_sharp_s_are_spoken(backend: EspeakBackend) -> None:
    umlauts = backend.synthesise("<speak>Grüße aus Köln: Äpfel, Öl und Übermaß.</speak>", "default")
    assert 1.0 < wav_duration(umlauts) < 10.0
    assert wav_duration(backend.synthesise("<speak>Öß</speak>", "default")) > 0.3


def test_say_as_characters_spells_the_word_out(backend: EspeakBackend) -> None:
    word = wav_duration(backend.synthesise("<speak>Haus</speak>", "default"))
    spelled = '<speak><say-as interpret-as="characters">Haus</say-as></speak>'
    assert wav_duration(backend.synthesise(spelled, "default")) > 1.5 * word


def test_paragraphs_and_emphasis_are_understood(backend: EspeakBackend) -> None:
    one = "Hallo Welt."
    joined = wav_duration(backend.synthesise(f"<speak>{one} {one}</speak>", "default"))
    paragraphs = backend.synthesise(f"<speak><p>{one}</p><p>{one}</p></speak>", "default")
    assert wav_duration(paragraphs) > joined + 0.3
    plain = wav_duration(backend.synthesise("<speak>Hallo Welt.</speak>", "default"))
    stressed = "<speak><emphasis>Hallo</emphasis> Welt.</speak>"
    assert wav_duration(backend.synthesise(stressed, "default")) > plain


def test_english_works_with_its_own_voices() -> None:
    backend = EspeakBackend(language="en")
    data = backend.synthesise("<speak>The weather is lovely today.</speak>", "female")
    assert 1.0 < wav_duration(data) < 10.0
    assert median_pitch(data) > 150
    assert backend.name == "espeak-en"


def test_a_language_tag_without_a_voice_of_that_name_still_finds_a_voice() -> None:
    backend = EspeakBackend(language="en-gb")  # no voice file is called "en-gb"
    male = backend.synthesise("<speak>Good morning.</speak>", "male")
    female = backend.synthesise("<speak>Good morning.</speak>", "female")
    assert median_pitch(female) > 1.5 * median_pitch(male)


def test_custom_voices_are_used_and_change_the_cache_name() -> None:
    backend = EspeakBackend(voices={"default": "de+f2", "narrator": "de+m1"})
    assert median_pitch(backend.synthesise(SENTENCE, "default")) > 150
    assert wav_duration(backend.synthesise(SENTENCE, "narrator")) > 1.0
    assert backend.name.startswith("espeak-de-")
    assert backend.name != EspeakBackend().name
    assert len(backend.name) <= 32  # TextToSpeech.backend is a CharField(32)


def test_an_unknown_voice_is_a_speech_error(backend: EspeakBackend) -> None:
    with pytest.raises(SpeechError, match="no voice or language 'xx-nowhere'"):
        backend.synthesise(SENTENCE, "xx-nowhere")
    assert wav_duration(backend.synthesise(SENTENCE, "default")) > 1.0


def test_a_bad_language_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="not a language tag"):
        EspeakBackend(language="de; rm -rf")
    with pytest.raises(ValueError, match="not a language tag"):
        EspeakBackend(language="en-GB-x-somewhat-too-long")


def test_overlong_speech_is_refused_and_the_library_recovers(
    backend: EspeakBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_libespeak, "MAX_SPEECH_SECONDS", 3.0)
    with pytest.raises(SpeechError, match="longer than 3 s"):
        backend.synthesise('<speak>Hallo <break time="10s"/> Welt.</speak>', "default")
    monkeypatch.undo()
    assert 1.0 < wav_duration(backend.synthesise(SENTENCE, "default")) < 10.0
