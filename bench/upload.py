"""A large WAV upload through ``addAudioFile``: the server's peak RSS growth and throughput.

Run from the repository root: ``.venv/bin/python bench/upload.py [--megabytes 200]``.
It starts ``gencaster serve`` as its own process (SQLite, temporary data dir, one
worker), logs in as a staff user made with ``gencaster createuser``, writes a WAV of
the given size to disk, and uploads it the way browser clients do (multipart request
spec) from this process. A thread samples the server's RSS every 5 ms; the baseline is
taken after a small warm-up upload, so imports and first-use set-up are not counted.
Throughput is the file's size over the wall time of the whole request (loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import psutil
import soundfile

PASSWORD = "bench-password-123"
MUTATION = (
    "mutation($f: AddAudioFile!) { addAudioFile(newAudioFile: $f) { __typename "
    "... on AudioFile { uuid file { size } } ... on InvalidAudioFile { error } } }"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_wav(path: Path, megabytes: int) -> int:
    """A stereo 16-bit 48 kHz sine of about ``megabytes`` MB, written block by block."""
    rate, block_seconds = 48_000, 10
    frames_wanted = megabytes * 1024 * 1024 // 4
    t = np.arange(rate * block_seconds) / rate
    block = (np.stack([np.sin(2 * np.pi * 220 * t)] * 2, axis=1) * 0.2).astype(np.float32)
    with soundfile.SoundFile(path, "w", rate, 2, "PCM_16", format="WAV") as sound:
        written = 0
        while written < frames_wanted:
            part = block[: frames_wanted - written]
            sound.write(part)
            written += len(part)
    return path.stat().st_size


def gencaster(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "gencaster.cli", *args],
        env=env,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )


@contextmanager
def server(data_dir: Path) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    env = {
        **os.environ,
        "GENCASTER_DATA_DIR": str(data_dir),
        "GENCASTER_PORT": str(port),
        "GENCASTER_OSC_PORT": "0",
        "GENCASTER_SECRET_KEY": "bench-secret",
    }
    gencaster(env, "migrate")
    gencaster(env, "createuser", "bench", "--staff", "--password-stdin", stdin=PASSWORD + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "gencaster.cli", "serve"],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_until_up(url)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, params={"query": "{ __typename }"}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


class PeakSampler:
    """Samples a process's RSS in a thread until stopped; keeps the peak."""

    def __init__(self, process: psutil.Process, interval: float = 0.005) -> None:
        self.process, self.interval = process, interval
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def upload(client: httpx.Client, url: str, path: Path) -> dict:
    variables = {"f": {"file": None, "name": path.stem, "description": "", "fileName": path.name}}
    operations = {"query": MUTATION, "variables": variables}
    with path.open("rb") as handle:
        response = client.post(
            url,
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.f.file"]}),
            },
            files={"0": (path.name, handle, "audio/wav")},
        )
    response.raise_for_status()
    return response.json()["data"]["addAudioFile"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as tmp:
        data_dir = Path(tmp)
        big = data_dir / "big.wav"
        small = data_dir / "small.wav"
        size = write_wav(big, args.megabytes)
        write_wav(small, 1)
        with server(data_dir) as (url, process), httpx.Client(timeout=600) as client:
            login = client.post(
                url,
                json={
                    "query": "mutation($u: String!, $p: String!) { authLogin(username: $u, "
                    "password: $p) { __typename } }",
                    "variables": {"u": "bench", "p": PASSWORD},
                },
            )
            assert login.json()["data"]["authLogin"]["__typename"] == "User", login.text
            assert upload(client, url, small)["__typename"] == "AudioFile"  # warm-up
            baseline = process.memory_info().rss
            with PeakSampler(process) as sampler:
                start = time.perf_counter()
                result = upload(client, url, big)
                elapsed = time.perf_counter() - start
        assert result["__typename"] == "AudioFile", result
        assert result["file"]["size"] == size
    growth = (sampler.peak - baseline) / (1024 * 1024)
    print(f"upload: {size / 1e6:.1f} MB WAV ({size / 2**20:.1f} MiB) -> {result['__typename']}")
    print(f"server RSS: baseline {baseline / 2**20:.1f} MiB, peak {sampler.peak / 2**20:.1f} MiB")
    print(f"peak RSS growth: {growth:.1f} MiB (target: under 50 MB)")
    print(f"throughput: {size / 2**20 / elapsed:.1f} MiB/s ({elapsed:.2f} s wall, loopback)")


if __name__ == "__main__":
    main()
