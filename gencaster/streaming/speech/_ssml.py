"""A well-formedness check, because eSpeak NG never reports SSML errors.

Given broken markup, libespeak-ng speaks whatever it can make of it: ``<<<>>>`` becomes
silence and an unknown entity is read out. Rejecting such input with a clear message
lets the stream log say what is wrong instead of playing something odd.
"""

from __future__ import annotations

from xml.etree import ElementTree
from xml.parsers.expat import errors

from ._base import SpeechError

_WRAPPER = "ssml"


def check_ssml(ssml: str) -> None:
    """Raise ``SpeechError`` unless ``ssml`` is well-formed XML content without a DTD.

    A bare fragment ("Hallo <break time='1s'/> Welt") is accepted as well as a ``<speak>``
    document; a DTD is refused because eSpeak NG would not expand its entities.
    """
    if "<!DOCTYPE" in ssml.upper():
        raise SpeechError("malformed SSML: a DOCTYPE is not supported")
    stripped = ssml.lstrip()
    has_declaration = stripped.startswith("<?xml")
    document = stripped if has_declaration else f"<{_WRAPPER}>{ssml}</{_WRAPPER}>"
    try:
        ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        if line == 1 and not has_declaration:
            column = max(column - len(_WRAPPER) - 2, 0)
        reason = errors.messages[exc.code]
        raise SpeechError(f"malformed SSML: {reason} at line {line}, column {column}") from exc
