"""Seconds of speech eSpeak NG produces per second of CPU, for a German paragraph.

Run from the repository root: ``.venv/bin/python bench/speech.py [--repeat N]``.
The cold figure includes loading and initialising libespeak-ng (the first call in a
process); the warm figure is the mean of the calls after it. CPU time is
``time.process_time`` (all threads of this process).
"""

from __future__ import annotations

import argparse
import time

from gencaster.streaming.speech import EspeakBackend, wav_duration

PARAGRAPH = (
    "<speak>Willkommen bei Gencaster, dem generativen Radio. Jeder Hörer bekommt seinen "
    "eigenen Strom, und was als Nächstes zu hören ist, entscheidet die Geschichte Schritt "
    "für Schritt. Manchmal fragt sie dich etwas, manchmal wartet sie auf dich. "
    '<break time="500ms"/> Bleib dran: Gleich geht es weiter, mit Musik, Stimmen und '
    "Geräuschen aus der ganzen Stadt.</speak>"
)


def measure(backend: EspeakBackend, voice: str) -> tuple[float, float, float]:
    """Seconds of speech, CPU seconds and wall seconds for one synthesis."""
    cpu, wall = time.process_time(), time.perf_counter()
    data = backend.synthesise(PARAGRAPH, voice)
    return wav_duration(data), time.process_time() - cpu, time.perf_counter() - wall


def report(label: str, speech: float, cpu: float, wall: float) -> None:
    print(
        f"{label:>5}: {speech:7.2f} s speech, {cpu * 1000:8.1f} ms CPU, {wall * 1000:8.1f} ms wall"
        f" -> {speech / cpu:8.1f} s speech per CPU second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="warm calls to average")
    args = parser.parse_args()
    backend = EspeakBackend()
    report("cold", *measure(backend, "default"))
    voices = ["default", "male", "female"]
    runs = [measure(backend, voices[i % len(voices)]) for i in range(args.repeat)]
    speech, cpu, wall = (sum(column) for column in zip(*runs, strict=True))
    report("warm", speech / args.repeat, cpu / args.repeat, wall / args.repeat)


if __name__ == "__main__":
    main()
