"""Where audio files live on disk and how clients and SuperCollider reach them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from models import AudioFile

if TYPE_CHECKING:
    from gencaster.settings import Settings


@dataclass(frozen=True)
class MediaStore:
    root: Path
    url_prefix: str = "/media/"
    sc_prefix: str = "/data/"

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStore:
        return cls(
            root=settings.media_root,
            url_prefix=settings.media_url,
            sc_prefix=settings.sc_media_prefix,
        )

    def path_of(self, audio_file: AudioFile) -> Path:
        return self.root / audio_file.file_path

    def url_of(self, relative: str) -> str:
        return self.url_prefix.rstrip("/") + "/" + quote(relative)

    def sc_path_of(self, audio_file: AudioFile) -> str:
        """The file as the SuperCollider host sees the media folder (OSC.md)."""
        return self.sc_prefix.rstrip("/") + "/" + str(PurePosixPath(audio_file.file_path))

    def file_info(self, audio_file: AudioFile) -> dict[str, Any] | None:
        if not audio_file.file_path:
            return None
        return {
            "name": audio_file.file_path,
            "path": str(self.path_of(audio_file)),
            "size": audio_file.file_size,
            "url": self.url_of(audio_file.file_path),
        }
