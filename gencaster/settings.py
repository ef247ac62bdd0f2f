"""Every setting of the server, read from ``GENCASTER_*`` variables (and ``.env``).

``Settings.from_env()`` is the one place that reads the environment; everything
else receives a ``Settings`` object explicitly (``create_app(settings)``), so tests
can build as many differently configured apps as they like.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PREFIX = "GENCASTER_"
SECRET_NAMES = frozenset({"secret_key", "osc_password", "database_url", "redis_url"})


class SettingsError(ValueError):
    """A setting is missing or has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8081
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = "gencaster"
    media_root: Path = Path()
    media_url: str = "/media/"
    secret_key: str = ""
    workers: int = 1
    cors_origins: tuple[str, ...] = ()
    cookie_secure: bool = False
    proxies_count: int = 0
    session_days: int = 14
    osc_host: str = "0.0.0.0"
    osc_port: int = 7000
    osc_password: str = ""
    beacon_window_s: float = 60.0
    sc_media_prefix: str = "/data/"
    instruction_timeout_s: float = 300.0
    engine_step_limit: int = 10_000
    max_stream_variables: int = 200
    max_variable_bytes: int = 4096
    max_upload_bytes: int = 512 * 1024 * 1024
    # What one GraphQL operation may ask for (README, "Limits"), and what one
    # connection may spend: a bucket of cost units refilled per second.
    max_query_depth: int = 16
    max_query_aliases: int = 30
    max_query_fields: int = 1000
    max_query_root_fields: int = 20
    max_query_cost: int = 50_000
    query_list_size: int = 10
    max_query_tokens: int = 10_000
    connection_cost_budget: int = 500_000
    connection_cost_per_s: int = 50_000
    ws_max_operations: int = 100
    ws_init_timeout_s: float = 3.0
    # Logins: hashing threads of their own, and failed logins slowed down.
    password_hash_threads: int = 2
    login_free_failures: int = 5
    login_max_delay_s: float = 300.0
    # Stream points: who may beacon, and how many may be live at once.
    osc_allowed_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    max_stream_points: int = 100
    # Connections: a request's head must arrive within this time; sockets per address.
    request_head_timeout_s: float = 10.0
    request_body_timeout_s: float = 60.0
    max_connections_per_address: int = 64
    tts_backend: str = "espeak"
    tts_language: str = "de"
    debug: bool = False

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite://{data_dir / 'gencaster.sqlite3'}")
        media_root = Path(self.media_root) if str(self.media_root) not in ("", ".") else None
        object.__setattr__(self, "media_root", media_root or data_dir / "media")
        if self.connection_cost_budget < self.max_query_cost:
            raise SettingsError(
                "GENCASTER_CONNECTION_COST_BUDGET must be at least GENCASTER_MAX_QUERY_COST"
            )
        if self.password_hash_threads < 1:
            raise SettingsError("GENCASTER_PASSWORD_HASH_THREADS must be at least 1")
        _check_networks(self.osc_allowed_networks)
        if self.workers < 1:
            raise SettingsError("GENCASTER_WORKERS must be at least 1")
        if self.workers > 1 and not self.redis_url:
            raise SettingsError(
                "GENCASTER_WORKERS > 1 needs GENCASTER_REDIS_URL: the in-process broker "
                "cannot carry live updates between worker processes"
            )
        if self.workers > 1 and self.osc_port:
            raise SettingsError(
                "GENCASTER_WORKERS > 1 needs GENCASTER_OSC_PORT=0: the OSC server runs in "
                "exactly one place; start it with `gencaster osc`"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
    ) -> Settings:
        """Settings from ``environ`` (default: ``os.environ``) over an optional ``.env`` file."""
        values: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls(**_parse(values))

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated once and kept in the data dir.

        Keeping it on disk lets the embedded set-up survive restarts without any
        configuration, and lets several processes on one host agree on it.
        """
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first; use theirs
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRET_NAMES and value:
                value = "***"
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"


def _check_networks(networks: tuple[str, ...]) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise SettingsError(
                f"GENCASTER_OSC_ALLOWED_NETWORKS: {network!r} is no network (CIDR)"
            ) from exc


def _parse(values: Mapping[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in fields(Settings):
        key = PREFIX + item.name.upper()
        if key not in values:
            continue
        parsed[item.name] = _cast(key, values[key], item.type)
    return parsed


def _cast(key: str, raw: str, kind: Any) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return _boolean(raw)
        if kind == "Path":
            return Path(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"{key}: cannot read {raw!r} as {kind}") from exc
    return raw


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)
