"""Speech through ``SpeechService``: single flight under a crowd, and cold vs cached cost.

Run from the repository root: ``.venv/bin/python bench/synthesis.py [--listeners 100]``.
Uses a temporary SQLite database and media folder, and real eSpeak NG (German).

1. ``--listeners`` callers reach the same markdown cell at once (rendered to SSML as the
   engine does); the backend counts how often it is really asked to synthesise.
2. Seconds of speech per CPU second for ``--texts`` paragraphs never spoken before
   (cold: synthesis, WAV written and probed, rows stored) and then the same again
   through a fresh service, as another process would (cached: a database lookup and a
   file check). CPU time is ``time.process_time`` (every thread of this process). The
   library is initialised by one unrelated synthesis first, so that is not counted.
3. The longest gap between the ticks of a task beside the cold run: how long synthesis
   held the event loop (target: under 250 ms; ``tests/streaming/speech/test_runner.py``
   checks only that the loop ticks during synthesis).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from pathlib import Path

from gencaster.cli import migrate_database
from gencaster.db import open_database
from gencaster.engine.markdown import render_ssml
from gencaster.media import MediaStore
from gencaster.settings import Settings
from gencaster.streaming.speech import EspeakBackend
from gencaster.streaming.tts import SpeechService

CELL = (
    "Willkommen bei **Gencaster**. Jeder Hörer bekommt seinen eigenen Strom, und was als "
    "Nächstes kommt, entscheidet die Geschichte. {break}`500ms` Bleib dran!"
)


class CountingBackend:
    """eSpeak NG, counting the syntheses it is asked for."""

    def __init__(self) -> None:
        self.inner = EspeakBackend(language="de")
        self.name = self.inner.name
        self.calls = 0

    def synthesise(self, ssml: str, voice: str) -> bytes:
        self.calls += 1
        return self.inner.synthesise(ssml, voice)


def paragraph(number: int) -> str:
    return (
        f"<speak>Kapitel {number}. Die Straßenbahn hält an der Brücke, und die Stadt "
        "atmet langsam aus. Wer jetzt zuhört, hört den Fluss, die Vögel und ganz "
        f"entfernt eine Glocke, die {number} Mal schlägt.</speak>"
    )


async def crowd(backend: CountingBackend, media: MediaStore, listeners: int) -> None:
    service = SpeechService(backend=backend, media=media)
    ssml = render_ssml(CELL).ssml
    before, start = backend.calls, time.perf_counter()
    results = await asyncio.gather(*(service.speak(ssml) for _ in range(listeners)))
    elapsed = time.perf_counter() - start
    files = len({audio.uuid for audio in results})
    print(
        f"crowd: {listeners} listeners at once -> {backend.calls - before} synthesis, "
        f"{files} audio file, {elapsed * 1000:.0f} ms until all had it"
    )


async def speak_all(service: SpeechService, texts: list[str]) -> tuple[float, float, float]:
    """Seconds of speech, CPU seconds and wall seconds for speaking ``texts`` in turn."""
    cpu, wall, speech = time.process_time(), time.perf_counter(), 0.0
    for ssml in texts:
        audio = await service.speak(ssml)
        speech += audio.duration or 0.0
    return speech, time.process_time() - cpu, time.perf_counter() - wall


async def _tick(ticks: list[float]) -> None:
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.005)


def report(label: str, speech: float, cpu: float, wall: float, count: int) -> None:
    print(
        f"{label:>6}: {count} texts, {speech:7.1f} s speech, {cpu * 1000:8.1f} ms CPU, "
        f"{wall * 1000:8.1f} ms wall -> {speech / cpu:9.1f} s speech per CPU second"
    )


async def run(listeners: int, count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        await migrate_database(settings)
        async with open_database(settings.database_url):
            media = MediaStore(root=settings.media_root)
            backend = CountingBackend()
            await SpeechService(backend=backend, media=media).speak("<speak>Eins.</speak>")
            await crowd(backend, media, listeners)
            texts = [paragraph(number) for number in range(count)]
            ticks: list[float] = []
            ticker = asyncio.create_task(_tick(ticks))
            cold = await speak_all(SpeechService(backend=backend, media=media), texts)
            ticker.cancel()
            gap = max((b - a for a, b in itertools.pairwise(ticks)), default=0.0)
            cached = await speak_all(SpeechService(backend=backend, media=media), texts)
            report("cold", *cold, count)
            report("cached", *cached, count)
            print(f"loop: longest gap during the cold run {gap * 1000:.1f} ms (target < 250 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--texts", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.listeners, args.texts))


if __name__ == "__main__":
    main()
