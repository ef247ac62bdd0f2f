"""Collection pauses of the process it runs in, for servers under benchmark."""

from __future__ import annotations

import gc
import time
from typing import Any


class GcPauses:
    """Times every garbage collection (``gc.callbacks``) until ``take`` resets the figures."""

    def __init__(self) -> None:
        self._started = 0.0
        self._reset()
        gc.callbacks.append(self._callback)

    def _reset(self) -> None:
        self.pauses_ms: list[float] = []
        self.full = 0
        self.full_max_ms = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self._started) * 1000
        self.pauses_ms.append(pause_ms)
        if info.get("generation") == 2:
            self.full += 1
            self.full_max_ms = max(self.full_max_ms, pause_ms)

    def take(self) -> dict[str, float]:
        """Count, full collections, longest (of all, of full ones) and total pause (ms)."""
        figures = {
            "count": len(self.pauses_ms),
            "full": self.full,
            "full_max_ms": self.full_max_ms,
            "max_ms": max(self.pauses_ms, default=0.0),
            "total_ms": sum(self.pauses_ms),
            "tracked": len(gc.get_objects()),
            "frozen": gc.get_freeze_count(),
        }
        self._reset()
        return figures
