"""Reading the log a ``gencaster serve`` process wrote, as an operator would."""

from __future__ import annotations

import re

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<name>[\w.]+): (?P<message>.*)$"
)
BAD_LEVELS = ("WARNING", "ERROR", "CRITICAL")
# In debug mode asyncio reports callbacks slower than 0.1 s; on a busy machine that is
# the machine, not the server (and production runs without debug).
SLOW_CALLBACK = re.compile(r"^Executing <.*> took \d+\.\d+ seconds$")


def log_problems(log: str) -> list[str]:
    """Lines an operator would have to look into; normal operation has none.

    A warning or error, an error page written for a request (`` 500 ``), asyncio's
    "Task was destroyed but it is pending", a line that is not one record of the one
    log format (a second handler, a bare traceback) or a record written twice. The
    lines ``gencaster serve`` prints before logging starts (where it keeps its data,
    where it listens) are its start-up banner, not log records.
    """
    problems = []
    seen: set[str] = set()
    logging_started = False
    for line in log.splitlines():
        match = LINE.match(line)
        if match is None:
            if line.strip() and logging_started:
                problems.append(f"not one log record per line: {line}")
            continue
        logging_started = True
        level, message = match["level"], match["message"]
        bad_level = level in BAD_LEVELS and not SLOW_CALLBACK.match(message)
        if bad_level or " 500 " in message or "was destroyed but it is pending" in message:
            problems.append(line)
        stamp_and_text = f"{line[:23]} {message}"
        if message and stamp_and_text in seen:
            problems.append(f"twice: {line}")
        seen.add(stamp_and_text)
    return problems
