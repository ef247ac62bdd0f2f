"""ctypes binding to the libespeak-ng shipped by ``espeakng-loader``.

The C library keeps one global state (voice, callback, buffers), so this module has
one process-wide ``LibEspeak`` whose every call holds a lock. It loads and initialises
the library on first use, in synchronous mode: ``espeak_Synth`` returns once the text
is rendered, and the audio arrives through the synth callback, never at a sound card.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import NamedTuple

import espeakng_loader

from ._base import SpeechError

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # without it a missing data folder calls exit(1)
_CHARS_UTF8 = 0x01
_SSML = 0x10
_POS_CHARACTER = 1
_EE_OK = 0
_EE_NOT_FOUND = 2
_CALLBACK_CONTINUE = 0
_CALLBACK_ABORT = 1

MAX_SPEECH_SECONDS = 1800.0
"""Longer output is refused: a stray ``<break time="3600s"/>`` should not fill the memory."""


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class VoiceChoice(NamedTuple):
    """An eSpeak voice name (``de``, ``de+f3``, ``en-us``) and the gender to ask for when
    no voice has that name (then it is read as a language, e.g. ``en-gb``)."""

    spec: str
    gender: int  # 0 any, 1 male, 2 female (espeak_VOICE.gender)


def _declare(lib: ctypes.CDLL) -> None:
    """Argument types, so ctypes neither truncates pointers nor guesses int widths."""
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int


def _load() -> tuple[ctypes.CDLL, int]:
    """Load and initialise the library; returns it with its sample rate."""
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as exc:
        raise SpeechError(f"eSpeak NG is not available: {exc}") from exc
    _declare(lib)
    sample_rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(data_path), _INITIALIZE_DONT_EXIT
    )
    if sample_rate <= 0:
        raise SpeechError(f"eSpeak NG could not initialise with its data in {data_path}")
    return lib, sample_rate


class LibEspeak:
    """The process's handle on libespeak-ng; thread-safe because every call holds the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lib: ctypes.CDLL | None = None
        self._sample_rate = 0
        self._chunks: list[bytes] = []
        self._samples = 0
        self._max_samples = 0
        # Kept on the instance: the C library calls it long after espeak_SetSynthCallback.
        self._callback = _SynthCallback(self._collect)

    def render(self, text: str, voice: VoiceChoice) -> tuple[bytes, int]:
        """Render SSML in ``voice``; returns native-endian 16-bit mono samples and their rate."""
        with self._lock:
            lib = self._initialised()
            self._select_voice(lib, voice)  # per call: SSML <voice> tags change the global voice
            return self._synth(lib, text), self._sample_rate

    def offers(self, spec: str) -> bool:
        """Whether eSpeak NG has a voice or language called ``spec``."""
        with self._lock:
            lib = self._initialised()
            try:
                self._select_voice(lib, VoiceChoice(spec, 0))
            except SpeechError:
                return False
            return True

    def _initialised(self) -> ctypes.CDLL:
        if self._lib is None:
            lib, self._sample_rate = _load()
            lib.espeak_SetSynthCallback(self._callback)
            self._lib = lib
        return self._lib

    def _select_voice(self, lib: ctypes.CDLL, voice: VoiceChoice) -> None:
        status = lib.espeak_SetVoiceByName(voice.spec.encode())
        if status == _EE_NOT_FOUND:
            language = voice.spec.split("+", 1)[0].encode()
            properties = _Voice(languages=language, gender=voice.gender)
            status = lib.espeak_SetVoiceByProperties(ctypes.byref(properties))
        if status != _EE_OK:
            raise SpeechError(f"eSpeak NG has no voice or language {voice.spec!r}")

    def _synth(self, lib: ctypes.CDLL, text: str) -> bytes:
        encoded = ctypes.create_string_buffer(text.encode())
        self._chunks, self._samples = [], 0
        self._max_samples = int(MAX_SPEECH_SECONDS * self._sample_rate)
        try:
            status = lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _SSML | _CHARS_UTF8, None, None
            )
            if status != _EE_OK:
                raise SpeechError(f"eSpeak NG failed to synthesise (status {status})")
            if self._samples > self._max_samples:
                raise SpeechError(f"speech longer than {MAX_SPEECH_SECONDS:g} s was refused")
            return b"".join(self._chunks)
        finally:
            self._chunks = []

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: object) -> int:
        """The synth callback: copy each block of samples; abort when it grows too long."""
        if wav and count > 0:
            self._samples += count
            if self._samples > self._max_samples:
                return _CALLBACK_ABORT
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return _CALLBACK_CONTINUE


def _reset_after_fork() -> None:
    # The lock may have been held by a thread that does not exist in the child.
    LIBRARY._lock = threading.Lock()


LIBRARY = LibEspeak()
os.register_at_fork(after_in_child=_reset_after_fork)
