"""The backend interface, its error, and the one-thread-per-backend runner."""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable


class SpeechError(Exception):
    """Synthesis failed (malformed SSML, unknown voice, library error); safe to log."""


@runtime_checkable
class SpeechBackend(Protocol):
    """Turns SSML into a complete WAV file; blocking, so call it through ``synthesise``."""

    name: str

    def synthesise(self, ssml: str, voice: str) -> bytes: ...


_workers: weakref.WeakKeyDictionary[SpeechBackend, ThreadPoolExecutor] = weakref.WeakKeyDictionary()
_workers_lock = threading.Lock()


def _forget_workers() -> None:
    # A forked child inherits the executors but not their threads; new work would hang.
    global _workers_lock
    _workers_lock = threading.Lock()
    _workers.clear()


os.register_at_fork(after_in_child=_forget_workers)


def _worker_for(backend: SpeechBackend) -> ThreadPoolExecutor:
    """One thread per backend: libespeak-ng keeps global state, so calls must queue, not overlap."""
    with _workers_lock:
        worker = _workers.get(backend)
        if worker is None:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"speech-{backend.name}")
            _workers[backend] = worker
            weakref.finalize(backend, worker.shutdown, wait=False)
        return worker


async def synthesise(backend: SpeechBackend, ssml: str, voice: str = "default") -> bytes:
    """Run ``backend.synthesise`` on the backend's worker thread so the event loop keeps going."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_worker_for(backend), backend.synthesise, ssml, voice)
