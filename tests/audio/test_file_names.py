"""A file name is a label: any printable Unicode is kept as the name, never used as a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import AudioFile
from tests.audio.conftest import media_files, sound_bytes, upload
from tests.support.graphql import GraphQLClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

MACOS_RECORDING = "Aufnahme 2024-01-30 um 10.32.07\u202fAM.wav"
LABELS = [
    MACOS_RECORDING,
    "録音 (2).wav",
    "\U0001f469\u200d\U0001f3a4 take.wav",  # an emoji joined with a zero-width joiner
    "שיר.wav",
    "Ñandú café.flac",
]
REFUSED = {
    "slash": "a/b.wav",
    "backslash": "a\\b.wav",
    "dot-dot": "..",
    "tab": "tab\there.wav",
    "newline": "line\nbreak.wav",
    "line separator": "line\u2028break.wav",
    "blank": "   ",
    "empty": "",
}


@pytest.mark.parametrize("label", LABELS)
async def test_printable_unicode_names_are_kept_as_labels(
    staff: GraphQLClient, media_root: Path, label: str
):
    body = await upload(staff, sound_bytes("WAV"), filename=label, file_name=label, name="")
    result = body["data"]["addAudioFile"]
    assert result["__typename"] == "AudioFile", body
    assert result["name"] == Path(label).stem
    stored = await AudioFile.get(uuid=result["uuid"])
    # Stored under a name the server chose, inside the media root.
    assert stored.file_path.startswith("audio/") and label not in stored.file_path
    assert (media_root / stored.file_path).is_file()


@pytest.mark.parametrize("case", list(REFUSED))
async def test_names_that_could_address_files_are_refused(
    staff: GraphQLClient, media_root: Path, case: str
):
    before = media_files(media_root), await AudioFile.all().count()
    body = await upload(staff, sound_bytes("WAV"), file_name=REFUSED[case])
    result = body["data"]["addAudioFile"]
    assert result["__typename"] == "InvalidAudioFile", body
    assert (media_files(media_root), await AudioFile.all().count()) == before
