"""``synthesise``: off the event loop, one worker thread per backend."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import suppress

import pytest

from gencaster.streaming.speech import EspeakBackend, SpeechError, synthesise, wav_duration

from .conftest import PARAGRAPH, SENTENCE


class RecordingBackend:
    """A real EspeakBackend that records which threads ran it and how many calls overlapped."""

    def __init__(self) -> None:
        self.inner = EspeakBackend()
        self.name = self.inner.name
        self.threads: set[threading.Thread] = set()
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def synthesise(self, ssml: str, voice: str) -> bytes:
        with self._lock:
            self.threads.add(threading.current_thread())
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            return self.inner.synthesise(ssml, voice)
        finally:
            with self._lock:
                self.running -= 1


async def _tick(ticks: list[float]) -> None:
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.005)


async def test_concurrent_calls_all_succeed_while_the_event_loop_keeps_ticking() -> None:
    backend = RecordingBackend()
    ticks: list[float] = []
    ticker = asyncio.create_task(_tick(ticks))
    voices = ["default", "male", "female"]
    calls = [synthesise(backend, PARAGRAPH, voices[i % 3]) for i in range(24)]
    await asyncio.sleep(0)  # let the ticker start
    try:
        started = time.perf_counter()
        results = await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
        finished = time.perf_counter()
    finally:
        ticker.cancel()
        with suppress(asyncio.CancelledError):
            await ticker
    assert all(8.0 < wav_duration(data) < 30.0 for data in results)
    # The loop ran while the syntheses did; how long it was held is bench.synthesis's.
    assert sum(started < tick < finished for tick in ticks) >= 5


async def test_the_event_loop_keeps_ticking_during_one_long_synthesis() -> None:
    """A blocking implementation would let the ticker run only before and after the call."""
    body = PARAGRAPH.removeprefix("<speak>").removesuffix("</speak>")
    long_text = "<speak>" + " ".join([body] * 20) + "</speak>"  # about 220 s of speech
    backend = EspeakBackend()
    await asyncio.wait_for(synthesise(backend, SENTENCE), timeout=10)  # load the library first
    ticks: list[float] = []
    ticker = asyncio.create_task(_tick(ticks))
    await asyncio.sleep(0)  # let the ticker start
    try:
        started = time.perf_counter()
        data = await asyncio.wait_for(synthesise(backend, long_text), timeout=60)
        finished = time.perf_counter()
    finally:
        ticker.cancel()
        with suppress(asyncio.CancelledError):
            await ticker
    assert wav_duration(data) > 150
    assert finished - started > 0.05
    assert sum(started < tick < finished for tick in ticks) >= 5


async def test_one_backend_runs_on_one_worker_thread_one_call_at_a_time() -> None:
    backend = RecordingBackend()
    calls = [synthesise(backend, SENTENCE) for _ in range(12)]
    await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
    assert len(backend.threads) == 1
    (thread,) = backend.threads
    assert thread.name.startswith("speech-espeak-de")
    assert thread is not threading.current_thread()
    assert backend.most_running == 1


async def test_two_backends_get_two_workers_and_share_the_library_safely() -> None:
    german, english = RecordingBackend(), RecordingBackend()
    english.inner = EspeakBackend(language="en")
    english.name = english.inner.name
    calls = [synthesise(b, SENTENCE, "female") for b in (german, english) for _ in range(6)]
    results = await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
    assert all(1.0 < wav_duration(data) < 10.0 for data in results)
    assert german.threads.isdisjoint(english.threads)


async def test_a_failure_reaches_the_awaiting_caller_and_the_worker_goes_on() -> None:
    backend = EspeakBackend()
    with pytest.raises(SpeechError, match="malformed SSML"):
        await asyncio.wait_for(synthesise(backend, "<speak>kaputt"), timeout=10)
    data = await asyncio.wait_for(synthesise(backend, SENTENCE), timeout=10)
    assert wav_duration(data) > 1.0
