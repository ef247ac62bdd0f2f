"""EspeakBackend: offline speech from the eSpeak NG bundled by ``espeakng-loader``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ._base import SpeechError
from ._libespeak import LIBRARY, VoiceChoice
from ._ssml import check_ssml
from ._wav import encode_wav

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")
_GENDERS = {"male": 1, "female": 2}


def default_voices(language: str) -> dict[str, str]:
    """Gencaster's voice names as eSpeak voice specs: the language's voice and two variants."""
    return {"default": language, "male": f"{language}+m3", "female": f"{language}+f3"}


class EspeakBackend:
    """Implements ``SpeechBackend``; all instances share the one process-wide library.

    ``voices`` maps Gencaster voice names to eSpeak specs: a voice name with an optional
    variant (``de+f3``, ``en-us``) or a language tag (``en-gb``), which then gets the voice
    of the Gencaster name's gender. A voice name missing from the map is used as a spec.
    ``name`` carries the language (and a digest of custom voices) because it is part of
    the speech cache key: other settings must not reuse audio made with these.
    """

    def __init__(self, *, language: str = "de", voices: Mapping[str, str] | None = None) -> None:
        if len(language) > 16 or not _LANGUAGE.fullmatch(language):  # name fits 32 chars
            raise ValueError(f"not a language tag: {language!r}")
        self.language = language
        self.voices = dict(voices) if voices is not None else default_voices(language)
        self.name = f"espeak-{language}"
        if voices is not None:
            digest = hashlib.sha256(repr(sorted(self.voices.items())).encode()).hexdigest()
            self.name += f"-{digest[:8]}"

    def check_language(self) -> None:
        """Refuse, at start-up, a language eSpeak NG would only fail on at the first cell."""
        if not LIBRARY.offers(self.language):
            raise SpeechError(f"eSpeak NG has no language {self.language!r}")

    def synthesise(self, ssml: str, voice: str) -> bytes:
        check_ssml(ssml)
        choice = VoiceChoice(self.voices.get(voice, voice), _GENDERS.get(voice, 0))
        pcm, sample_rate = LIBRARY.render(ssml, choice)
        return encode_wav(pcm, sample_rate)

    def __repr__(self) -> str:
        return f"EspeakBackend(language={self.language!r}, voices={self.voices!r})"
