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

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.pauses_ms.append((time.perf_counter() - self._started) * 1000)
        self.full += info.get("generation") == 2

    def take(self) -> dict[str, float]:
        """Count, full collections, longest and total pause (ms) since the last call."""
        figures = {
            "count": len(self.pauses_ms),
            "full": self.full,
            "max_ms": max(self.pauses_ms, default=0.0),
            "total_ms": sum(self.pauses_ms),
            "tracked": len(gc.get_objects()),
        }
        self._reset()
        return figures
