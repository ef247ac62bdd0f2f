"""``gencaster audio import`` and ``gencaster tts`` as admins run them: real processes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import soundfile

from tests.audio.conftest import sound_bytes
from tests.support.cli import Finished, cli_env, run_cli


async def gencaster(data_dir: Path, *args: str) -> Finished:
    """Run the CLI in ``data_dir`` (so no stray .env is read) with the embedded defaults."""
    return await run_cli(data_dir, cli_env(data_dir), *args)


def audio_rows(database: Path) -> list[tuple[str, int, float, int, int]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT file_path, auto_generated, duration, channels, sample_rate FROM audio_file"
        ).fetchall()


@pytest.fixture
async def data_dir(tmp_path: Path) -> Path:
    migrated = await gencaster(tmp_path, "migrate")
    assert migrated.code == 0, migrated.stderr
    return tmp_path


def write_inputs(folder: Path) -> list[Path]:
    (folder / "nested").mkdir(parents=True)
    files = {
        "one.wav": sound_bytes("WAV", seconds=0.5),
        "nested/two.flac": sound_bytes("FLAC", seconds=0.25, channels=2),
        "notes.wav": b"these are notes, not sound\n",
        "empty.flac": b"",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return [folder / "one.wav", folder / "nested", folder / "notes.wav", folder / "empty.flac"]


async def test_audio_import_stores_valid_files_and_skips_the_rest_with_reasons(data_dir: Path):
    inputs = await asyncio.to_thread(write_inputs, data_dir / "incoming")
    result = await gencaster(data_dir, "audio", "import", *map(str, inputs))
    assert result.code == 1  # something was skipped
    assert "Imported 2 file(s), 0 already there, skipped 2" in result.stdout
    assert "notes.wav: Not a WAV or FLAC file" in result.stderr
    assert "empty.flac: The file is empty" in result.stderr
    rows = await asyncio.to_thread(audio_rows, data_dir / "gencaster.sqlite3")
    assert sorted(
        (path.rsplit(".", 1)[1], auto, channels) for path, auto, _, channels, _ in rows
    ) == [
        ("flac", 0, 2),
        ("wav", 0, 1),
    ]
    for path, *_ in rows:
        assert path.startswith("audio/")
        assert await asyncio.to_thread((data_dir / "media" / path).is_file)


async def test_tts_writes_and_prints_the_file_and_reuses_it(data_dir: Path):
    first = await gencaster(data_dir, "tts", "Guten *Abend*, liebe Hörer.")
    assert first.code == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.parent == (data_dir / "media" / "speech").resolve()
    info = await asyncio.to_thread(soundfile.info, str(path))
    assert info.format == "WAV" and info.duration > 0.5
    second = await gencaster(data_dir, "tts", "Guten *Abend*, liebe Hörer.")
    assert second.stdout == first.stdout
    assert "Synthesised" in first.stderr and "Found in the cache" in second.stderr
    rows = await asyncio.to_thread(audio_rows, data_dir / "gencaster.sqlite3")
    assert [(row[0], row[1]) for row in rows] == [(f"speech/{path.name}", 1)]


async def test_tts_reports_bad_ssml_without_a_traceback(data_dir: Path):
    result = await gencaster(data_dir, "tts", "--ssml", "<speak>not closed")
    assert result.code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error:")
    assert "Traceback" not in result.stderr


async def test_the_same_sound_twice_is_imported_once(data_dir: Path):
    incoming = data_dir / "incoming"
    await asyncio.to_thread(incoming.mkdir)
    sound = sound_bytes("WAV", seconds=0.25)
    for name in ("take.wav", "copy-of-take.wav"):
        await asyncio.to_thread((incoming / name).write_bytes, sound)
    first = await gencaster(data_dir, "audio", "import", str(incoming))
    assert first.code == 0, first.stderr
    assert "Imported 1 file(s), 1 already there, skipped 0" in first.stdout
    again = await gencaster(data_dir, "audio", "import", str(incoming / "take.wav"))
    assert again.code == 0, again.stderr
    assert "already imported as" in again.stderr
    assert len(await asyncio.to_thread(audio_rows, data_dir / "gencaster.sqlite3")) == 1


@pytest.mark.parametrize("text", ["", "   ", "<speak> </speak>"])
async def test_tts_refuses_text_with_nothing_to_say(data_dir: Path, text: str):
    args = ["tts", text, "--ssml"] if text.startswith("<") else ["tts", text]
    result = await gencaster(data_dir, *args)
    assert result.code == 2
    assert "nothing to say" in result.stderr and "Traceback" not in result.stderr
    assert not (data_dir / "media" / "speech").exists()
