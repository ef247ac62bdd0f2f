"""The SuperCollider code of the OSC contract (OSC.md): every text Gencaster asks sclang to run.

One module, imported by the engine (clean slate, playback) and by streaming (variables,
remote speech), so that neither package reaches into the other for a code string and
a change of the contract is made in one place.
"""

from __future__ import annotations

import math
import re
from uuid import UUID

# Ends whatever the instance plays and rebuilds its responders (see OSC.md on the reset).
CLEAN_SLATE = "0.01.wait;CmdPeriod.run;0.01.wait;"
# A no-op the instance answers at once: an answer shows that it receives instructions.
PROBE = "nil"

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # used with fullmatch
SC_INT_MIN, SC_INT_MAX = -(2**31), 2**31 - 1  # sclang reads integer literals with atoi
MAX_KEY_CHARS = 255


def async_playback(sc_path: str) -> str:
    """Play a file and answer ``FINISHED`` at once."""
    return f'{{g.playBuffer("{sc_path}")}}'


def sync_playback(sc_path: str, instruction_uuid: UUID | str) -> str:
    """Play a file; the instance answers ``FINISHED`` for ``instruction_uuid`` at its end."""
    return f'{{g.syncPlayBuffer("{sc_path}", "{instruction_uuid}")}}'


def variable_code(key: str, value: float) -> str:
    """``Ndef("<key>".asSymbol, <number>);`` (OSC.md), or ``ValueError``."""
    if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or not IDENTIFIER.fullmatch(key):
        raise ValueError(f"{key!r} is not a plain identifier")
    return f'Ndef("{key}".asSymbol, {sc_number_literal(value)});'


def sc_number_literal(value: float) -> str:
    """A finite number as sclang reads it: ``repr`` of a float (``1e-07``, ``1.5e+20``).

    Integers beyond 32 bits are written as floats, since sclang's ``atoi`` would
    overflow them. Booleans, strings and the like are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{type(value).__name__} is not a number")
    if isinstance(value, int):
        if SC_INT_MIN <= value <= SC_INT_MAX:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            raise ValueError("the number is too large") from None
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return repr(float(value))
