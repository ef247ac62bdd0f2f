"""The Tortoise configuration, shared by the app, the tests and aerich."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from gencaster.settings import Settings

MODEL_MODULES = ["models.story_graph", "models.stream", "models.users", "aerich.models"]


def connection_config(database_url: str) -> str | dict[str, Any]:
    """SQLite URLs get the engine whose connections carry the filter functions."""
    if not database_url.startswith("sqlite"):
        return database_url
    config = expand_db_url(database_url)
    config["engine"] = "gencaster.sqlite"
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _aerich_config() -> dict[str, Any]:
    """Read at import by aerich (``[tool.aerich]``): the environment's database."""
    return tortoise_config(Settings.from_env().database_url)


TORTOISE_ORM = _aerich_config()
