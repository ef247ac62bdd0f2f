"""XML helpers that keep the SSML document well-formed whatever text goes into it."""

import re
from xml.etree import ElementTree

# Characters XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/U+FFFF):
# escaping cannot save them, and a single one would make the whole document unparsable.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})

_BREAK_TIME = re.compile(r"([0-9]{1,5})(\.[0-9]{1,3})?(ms|s)")  # ASCII digits only
MAX_BREAK_MS = 10_000


def escape_text(text: str) -> str:
    """Escape text for element content or attribute values, dropping non-XML characters."""
    return _NOT_XML_CHAR.sub("", text).translate(_ESCAPES)


def parse_break_time(value: str) -> str | None:
    """Return ``value`` if it is a pause such as ``300ms`` or ``1.5s`` of at most ``MAX_BREAK_MS``.

    Anything else gives None. The pattern is strict so the value can go into ``time`` verbatim.
    """
    match = _BREAK_TIME.fullmatch(value)
    if match is None:
        return None
    amount = float(match.group(1) + (match.group(2) or ""))
    milliseconds = amount if match.group(3) == "ms" else amount * 1000
    return value if milliseconds <= MAX_BREAK_MS else None


def is_wellformed_fragment(fragment: str) -> bool:
    """Whether ``fragment`` is balanced XML content, so inserting it cannot break the document.

    A DOCTYPE cannot occur inside an element, so this parse never expands declared entities.
    """
    try:
        ElementTree.fromstring(f"<fragment>{fragment}</fragment>")
    except ElementTree.ParseError:
        return False
    return True
