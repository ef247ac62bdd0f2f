"""What sandboxed code may name and which attributes it may read.

Names are checked statically (``_checker``); attributes statically against a deny list
(for early, clear errors) and at run time against the allow lists below (``_guards``).
Anything not listed is refused: a new type reachable from the sandbox has no attributes
until someone adds them here on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gencaster.engine import frontend

# Names every run may use. Beyond the design's list: tuple/set (plain collections),
# sorted/enumerate/zip/reversed/any/all/sum (iterate what the code already holds; sizes
# are guarded), isinstance (answers a bool), chr/ord (one character), repr (size-guarded)
# and a few exception classes so cells can write ``except ValueError:``.
COMMON_NAMES = frozenset(
    {
        "vars", "Dialog", "Text", "Button", "Checkbox", "Input", "ButtonType",
        "CallbackAction", "random", "time", "datetime", "timedelta",
        "int", "float", "str", "bool", "len", "range", "list", "dict", "tuple", "set",
        "min", "max", "abs", "round", "sum", "sorted", "enumerate", "zip", "reversed",
        "any", "all", "isinstance", "chr", "ord", "repr", "print",
        "Exception", "ValueError", "TypeError", "KeyError", "IndexError",
        "ZeroDivisionError", "visits",
    }
)  # fmt: skip
# Only cells run inside the engine's event loop and may wait.
CELL_NAMES = COMMON_NAMES | {"asyncio", "wait_for_stream_variable"}

# Underscore-free attributes that lead to interpreter internals (frames, code, globals).
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")


def is_forbidden_attribute(name: str) -> bool:
    return (
        name.startswith("_")
        or name in FORBIDDEN_ATTRIBUTES
        or name.startswith(FORBIDDEN_ATTRIBUTE_PREFIXES)
    )


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STR = _names(
    """capitalize casefold center count endswith expandtabs find index isalnum isalpha
    isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle
    isupper join ljust lower lstrip partition removeprefix removesuffix replace rfind
    rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title
    upper zfill"""
)
_LIST = _names("append clear copy count extend index insert pop remove reverse sort")
_DICT = _names("clear copy get items keys pop popitem setdefault update values")
_FROZENSET = _names(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union"
)
_SET = _FROZENSET | _names(
    """add clear difference_update discard intersection_update pop remove
    symmetric_difference_update update"""
)
_DATE = _names("year month day weekday isoweekday isoformat strftime replace ctime")
_TIME = _names("hour minute second microsecond tzinfo isoformat strftime replace")
_DATETIME = _DATE | _TIME | _names("date time timestamp astimezone")
_ENUM = _names("name value")

# Attributes of instances, by exact type.
INSTANCE_ATTRIBUTES: Mapping[type, frozenset[str]] = {
    str: _STR,
    list: _LIST,
    dict: _DICT,
    set: _SET,
    frozenset: _FROZENSET,
    tuple: _names("count index"),
    int: _names("bit_length"),
    bool: _names("bit_length"),
    float: _names("is_integer"),
    dt.datetime: _DATETIME,
    dt.date: _DATE,
    dt.time: _TIME,
    dt.timedelta: _names("days seconds microseconds total_seconds"),
    dt.timezone: _names("tzname utcoffset"),
    frontend.ButtonType: _ENUM,
    frontend.CallbackAction: _ENUM,
    frontend.Dialog: _names("title content buttons"),
    frontend.Text: _names("text"),
    frontend.Input: _names("key label placeholder"),
    frontend.Checkbox: _names("key label checked callback_actions"),
    frontend.Button: _names("text value key button_type callback_actions"),
}

# Attributes of the classes the sandbox can name, by identity.
CLASS_ATTRIBUTES: Mapping[type, frozenset[str]] = {
    dt.datetime: _names("now today fromisoformat fromtimestamp combine min max"),
    dt.date: _names("today fromisoformat fromtimestamp min max"),
    dt.timedelta: _names("min max resolution"),
    dt.timezone: _names("utc"),
    frontend.Button: _names("ok cancel"),
    frontend.ButtonType: frozenset(frontend.ButtonType.__members__),
    frontend.CallbackAction: frozenset(frontend.CallbackAction.__members__),
}

EXCEPTION_ATTRIBUTES = _names("args")
VARS_ATTRIBUTES = _names("get keys values items pop setdefault update")
