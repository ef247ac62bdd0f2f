"""Fixtures and audio measurements for the text-to-speech tests (real libespeak-ng)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from gencaster.streaming.speech import EspeakBackend

SENTENCE = "<speak>Heute scheint die Sonne über dem Meer.</speak>"
PARAGRAPH = (
    "<speak>Willkommen bei Gencaster. Dieses Radio erzählt jedem Hörer seine eigene "
    "Geschichte. Was du als Nächstes hörst, hängt davon ab, wie du dich entscheidest. "
    "Bleib dran, denn gleich geht es weiter.</speak>"
)


@pytest.fixture
def backend() -> EspeakBackend:
    return EspeakBackend()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Samples as floats in [-1, 1] and the sample rate."""
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float64")
    return samples, rate


def median_pitch(data: bytes) -> float:
    """Median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation."""
    samples, rate = read_wav(data)
    size = int(0.04 * rate)
    shortest, longest = int(rate / 400), int(rate / 60)
    estimates = []
    for start in range(0, len(samples) - size, size):
        frame = samples[start : start + size] - samples[start : start + size].mean()
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue  # silence or a consonant: no pitch to measure
        correlation = np.correlate(frame, frame, "full")[size - 1 :]
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        estimates.append(rate / lag)
    assert estimates, "no voiced frames found"
    return float(np.median(estimates))
