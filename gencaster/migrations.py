"""Where the aerich migrations live, and which of them a database still lacks.

The folder is found next to the package (a checkout or an editable install), never
relative to the current directory, so every command works from anywhere.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
APP = "models"


class MigrationsMissing(RuntimeError):
    """The migrations folder is not where the package expects it."""


def migrations_dir() -> Path:
    """The migrations folder; a clear error when the package was installed without it."""
    if not (MIGRATIONS_DIR / APP).is_dir():
        raise MigrationsMissing(
            f"no migrations at {MIGRATIONS_DIR / APP}: run Gencaster from its source "
            "checkout (pip install -e .), where migrations/ sits beside gencaster/"
        )
    return MIGRATIONS_DIR


def known_versions() -> list[str]:
    """The file names of every migration, in order (aerich's version strings)."""
    folder = migrations_dir() / APP
    files = (path.name for path in folder.glob("*.py") if path.name[0].isdigit())
    return sorted(files, key=lambda name: int(name.split("_", 1)[0]))


async def pending_versions() -> list[str]:
    """Migrations the open database has not applied yet (needs the ORM open)."""
    from aerich.models import Aerich
    from tortoise.exceptions import OperationalError

    try:
        applied = set(await Aerich.filter(app=APP).values_list("version", flat=True))
    except OperationalError:  # no aerich table at all: nothing applied yet
        applied = set()
    return [version for version in known_versions() if version not in applied]
