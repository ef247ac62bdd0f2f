"""Every setting of the server, read from ``GENCASTER_*`` variables (and ``.env``).

``Settings.from_env()`` is the one place that reads the environment; everything
else receives a ``Settings`` object explicitly (``create_app(settings)``), so tests
can build as many differently configured apps as they like. pydantic casts and
checks every value, so a setting the server cannot use stops it at start-up with
the variable named, instead of failing on the first request that needs it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "GENCASTER_"
SECRET_NAMES = frozenset(
    {"secret_key", "osc_password", "database_url", "redis_url", "metrics_token"}
)
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SPEECH_BACKENDS = ("espeak", "google")
MAX_SHOWN_CHARS = 40
# A source checkout keeps its data and .env beside the code, whatever the current folder.
CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file()
DEFAULT_DATA_DIR = CHECKOUT / "data" if IN_CHECKOUT else Path("data")

Port = Annotated[int, Field(ge=1, le=65535)]
OptionalPort = Annotated[int, Field(ge=0, le=65535, description="0 turns the server off")]
Positive = Annotated[int, Field(gt=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Name = Annotated[str, Field(min_length=1)]


class SettingsError(ValueError):
    """A setting is missing or has a value the server cannot use."""


class Settings(BaseModel):
    """The validated settings; built from keyword arguments, never from the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    host: Name = "127.0.0.1"
    port: Port = 8081
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: Name = "gencaster"
    media_root: Path = Path()
    media_url: Name = "/media/"
    secret_key: str = ""
    workers: Annotated[int, Field(ge=1)] = 1
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    cookie_secure: bool = False
    proxies_count: Annotated[int, Field(ge=0)] = 0
    # A login lasts whole days; past ten years the cookie's expiry date overflows.
    session_days: Annotated[int, Field(ge=1, le=3650)] = 14
    osc_host: Name = "0.0.0.0"
    osc_port: OptionalPort = 7000
    osc_password: str = ""
    # The real class beacons every 5 s: a point that missed two beacons is gone.
    beacon_window_s: PositiveSeconds = 15.0
    sc_media_prefix: str = "/data/"
    instruction_timeout_s: PositiveSeconds = 300.0
    # A cell still waiting for its FINISHED this long is logged as a warning (0: never).
    instruction_warning_s: Annotated[float, Field(ge=0)] = 5.0
    engine_step_limit: Positive = 10_000
    # A stream's engine runs where its claim is; a dead holder's claim lapses after this.
    engine_lease_s: PositiveSeconds = 5.0
    max_stream_variables: Positive = 200
    max_variable_bytes: Positive = 4096
    max_upload_bytes: Positive = 512 * 1024 * 1024
    # What one GraphQL operation may ask for (README, "Limits"), and what one
    # connection may spend: a bucket of cost units refilled per second.
    max_query_depth: Positive = 16
    max_query_aliases: Positive = 30
    max_query_fields: Positive = 1000
    max_query_root_fields: Positive = 20
    max_query_cost: Positive = 50_000
    query_list_size: Positive = 10
    max_query_tokens: Positive = 10_000
    connection_cost_budget: Positive = 500_000
    connection_cost_per_s: Positive = 50_000
    ws_max_operations: Positive = 100
    ws_init_timeout_s: PositiveSeconds = 3.0
    # WebSocket pings to every socket, and how long a pong may take before the socket ends.
    ws_ping_interval_s: PositiveSeconds = 20.0
    ws_ping_timeout_s: PositiveSeconds = 20.0
    # Logins: hashing threads of their own, and failed logins slowed down.
    password_hash_threads: Positive = 2
    password_hash_waiting: Annotated[int, Field(ge=0)] = 32
    login_free_failures: Annotated[int, Field(ge=0)] = 5
    login_max_delay_s: Annotated[float, Field(ge=0)] = 300.0
    # Stream points: who may beacon, and how many may be live at once.
    osc_allowed_networks: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.0/8", "::1/128")
    max_stream_points: Positive = 100
    osc_max_datagrams_per_s: Positive = 1000
    # Connections: a request's head must arrive within this time; sockets per address.
    request_head_timeout_s: PositiveSeconds = 10.0
    request_body_timeout_s: PositiveSeconds = 60.0
    max_connections_per_address: Positive = 64
    # Answers of graph reads kept per worker (transport/read_cache.py), in bytes; 0: none.
    graph_read_cache_bytes: Annotated[int, Field(ge=0)] = 32 * 1024 * 1024
    # The cyclic collector: "freeze" keeps full collections short with many open
    # sockets (gencaster/collector.py); "default" leaves CPython's as it is.
    gc_policy: Literal["freeze", "default"] = "freeze"
    # Free text without a column bound (cell code, markdown, descriptions), in characters.
    max_text_chars: Positive = 200_000
    # How often open staff subscriptions re-check that their login still holds.
    session_audit_s: PositiveSeconds = 10.0
    # Who may read /metrics: client networks, and a bearer token where one is set.
    metrics_networks: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.0/8", "::1/128")
    metrics_token: str = ""
    tts_backend: str = "espeak"
    tts_language: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,16}$")] = "de"
    debug: bool = False

    @model_validator(mode="before")
    @classmethod
    def _defaults_inside_the_data_dir(cls, values: Any) -> Any:
        """The SQLite file and the media live in ``data_dir`` unless set apart."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        data_dir = Path(values.get("data_dir") or DEFAULT_DATA_DIR)
        if not values.get("database_url"):
            values["database_url"] = f"sqlite://{data_dir / 'gencaster.sqlite3'}"
        if str(values.get("media_root") or "") in ("", "."):
            values["media_root"] = data_dir / "media"
        return values

    @field_validator("cors_origins", "osc_allowed_networks", "metrics_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{_shown(origin)} needs a scheme (http://host or https://host)")
            if parts.path or parts.query or parts.fragment:
                raise ValueError(f"{_shown(origin)} is not an origin (no path, no query)")
        return origins

    @field_validator("osc_allowed_networks", "metrics_networks")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{_shown(network)} is no network (CIDR)") from None
        return networks

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, url: str) -> str:
        if urlsplit(url).scheme not in DATABASE_SCHEMES:
            raise ValueError("the scheme must be sqlite:// or postgres://")
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if url and urlsplit(url).scheme not in REDIS_SCHEMES:
            raise ValueError("the scheme must be redis://, rediss:// or unix://")
        return url

    @field_validator("tts_backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        if name not in SPEECH_BACKENDS:
            raise ValueError(f"unknown; choose one of {', '.join(SPEECH_BACKENDS)}")
        return name

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, url: str) -> str:
        if not url.startswith("/") and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("must be a path (/media/) or an http(s) URL")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.connection_cost_budget < self.max_query_cost:
            raise SettingsError(
                "GENCASTER_CONNECTION_COST_BUDGET must be at least GENCASTER_MAX_QUERY_COST"
            )
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
        return self

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise settings_error(exc) from None

    @classmethod
    def from_env(cls, env_file: str | None = ".env") -> Settings:
        """Settings from the environment over an optional ``.env`` file.

        A relative ``env_file`` is read in the checkout and then in the current
        folder (the latter wins), so commands behave the same from any folder.
        """
        files: tuple[Path, ...] | None = None
        if env_file is not None:
            path = Path(env_file)
            files = (path,) if path.is_absolute() or not IN_CHECKOUT else (CHECKOUT / path, path)
        try:
            found = _Environment(_env_file=files)
        except ValidationError as exc:
            raise settings_error(exc) from None
        return cls(**found.model_dump(exclude_unset=True))

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with ``changes``, checked like the original."""
        return type(self)(**{**self.model_dump(), **changes})

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

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, ("***" if name in SECRET_NAMES and value else value)


class _Environment(BaseSettings, Settings):
    """The same fields, filled from ``GENCASTER_*`` variables and ``.env`` by pydantic-settings."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    def __init__(self, **values: Any) -> None:
        BaseSettings.__init__(self, **values)


def settings_error(exc: ValidationError) -> SettingsError:
    """One line naming each variable and what is wrong with it, never a secret's value."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        reason = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        plain = isinstance(value, str | int | float) and name not in SECRET_NAMES
        shown = f"={_shown(value)}" if plain else ""
        if name in Settings.model_fields:
            problems.append(f"{PREFIX}{name.upper()}{shown}: {reason}")
        elif name:
            problems.append(f"{name}: {reason}")
        else:
            problems.append(reason)
    return SettingsError("; ".join(problems))


def _shown(value: object) -> str:
    """A value for a message, cut short: a setting may hold anything."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"
