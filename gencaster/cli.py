"""``gencaster …``: the admin commands (serve, migrate, createuser, export-schema, …)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gencaster.cli_admin import (
    _reason,
    add_admin_commands,
    add_orphans_command,
    check_speech,
    cmd_check,
    read_password,
)
from gencaster.settings import Settings, SettingsError

if TYPE_CHECKING:
    from gencaster.media import MediaStore

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"

Command = Callable[[argparse.Namespace, Settings], int]


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key in ("host", "port", "workers") and value is not None
    }
    return settings.with_changes(**overrides) if overrides else settings


async def migrate_database(settings: Settings) -> list[str]:
    """Apply every pending aerich migration; returns the versions applied."""
    from aerich import Command as Aerich
    from tortoise.context import TortoiseContext

    from gencaster.db import tortoise_config
    from gencaster.migrations import migrations_dir

    location = str(migrations_dir())
    prepare_data_dir(settings)
    # A context of its own, so an ORM set up earlier in this task cannot leak in.
    with TortoiseContext():
        async with Aerich(
            tortoise_config(settings.database_url), app="models", location=location
        ) as command:
            return await command.upgrade(run_in_transaction=True)


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database's file, or None for PostgreSQL (or SQLite in memory)."""
    from urllib.parse import urlsplit

    if not settings.is_sqlite:
        return None
    parts = urlsplit(settings.database_url)
    name = f"{parts.netloc}{parts.path}"
    return None if name in ("", ":memory:") else Path(name)


def prepare_data_dir(settings: Settings) -> None:
    """The data folder, created if need be, and the SQLite file's folder, which must exist.

    Raises ``SettingsError`` naming the setting: SQLite cannot create a folder, and
    Tortoise then waits forever for a connection that failed to open.
    """
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"GENCASTER_DATA_DIR={settings.data_dir}: cannot create the folder ({exc.strerror})"
        ) from None
    database = _sqlite_file(settings)
    if database is not None and not database.parent.is_dir():
        raise SettingsError(
            f"GENCASTER_DATABASE_URL: the folder of the SQLite file {database} does not "
            "exist; create it or choose another place"
        )


class NoDatabase(Exception):
    """An admin command found no database to work on (it never creates one)."""


def _database_exists(settings: Settings) -> None:
    """Admin commands work on the database ``migrate`` (or the first ``serve``) made."""
    database = _sqlite_file(settings)
    if database is not None and not database.is_file():
        raise NoDatabase(f"there is no database at {database} yet")


FIRST_STEP = "run `gencaster migrate` (or start `gencaster serve` once)"


def _database_failure(exc: BaseException, settings: Settings) -> str | None:
    """One line for a database that cannot be reached or has no tables; else None."""
    import socket
    import sqlite3

    import asyncpg
    from tortoise.exceptions import DBConnectionError

    unreachable = (
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        DBConnectionError,
        asyncpg.PostgresConnectionError,
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.InvalidCatalogNameError,
    )
    for error in _causes(exc):
        text = str(error)
        if isinstance(error, asyncpg.UndefinedTableError) or "no such table" in text:
            return f"the database at {_where(settings)} has no tables yet: {FIRST_STEP}"
        cannot_open = isinstance(error, sqlite3.OperationalError) and "unable to open" in text
        if cannot_open or isinstance(error, unreachable):
            return f"the database at {_where(settings)} cannot be reached: {_reason(error)}"
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = asyncio.run(migrate_database(settings))
    print("Applied: " + ", ".join(applied) if applied else "No migrations to apply")
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})
ACCESS_FIELDS = ("host", "request", "status", "byte", "duration")


class LogFormatter(logging.Formatter):
    """``LOG_FORMAT``, plus the fields Sanic's access records carry outside their message."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [str(getattr(record, name)) for name in ACCESS_FIELDS if hasattr(record, name)]
        return " ".join([text, *(field.strip() for field in fields)]) if fields else text


def configure_logging() -> None:
    """One handler, on the root logger, for Gencaster's and Sanic's records alike.

    Sanic's own logging set-up is off (see ``create_app``): with it, each of Sanic's
    records was written twice, by its handler and by the root's.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


class _SettingsErrorsOnce(logging.Filter):
    """Drops Sanic's traceback of a start-up stopped by a setting; ``main`` prints one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, SettingsError)


def _serving_app(settings: Settings) -> Any:
    """The app of a serving process; worker processes start with no logging set up."""
    from gencaster.app import create_app
    from gencaster.transport.shutdown import install_stop_handling

    configure_logging()
    app = create_app(settings)
    install_stop_handling(app)
    return app


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from gencaster.transport.shutdown import StoppableProtocol, stop_once_started

    check_speech(settings)
    logging.getLogger("sanic.error").addFilter(_SettingsErrorsOnce())
    _say(f"Gencaster: data in {settings.data_dir.resolve()}, database {_where(settings)}")
    if not _prepare_database(settings, migrate=args.migrate):
        return 2
    _say(
        f"Listening on http://{settings.host}:{settings.port} with {settings.workers} worker(s): "
        "GraphQL at /graphql, probes at /healthz and /readyz, figures at /metrics"
    )
    if settings.osc_port:
        _say(f"Stream points: OSC on udp {settings.osc_host}:{settings.osc_port}")
    else:
        _say("Stream points: no OSC server in this process (GENCASTER_OSC_PORT=0)")
    if settings.workers > 1:
        # Before any worker starts: each one reports its figures to this folder.
        from gencaster.metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(settings.data_dir)
    loader = AppLoader(factory=partial(_serving_app, settings))
    app = loader.load()
    single = settings.workers == 1
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        single_process=single,
        access_log=settings.debug,
        debug=settings.debug,
        motd=False,
        protocol=StoppableProtocol,
    )
    try:
        if single:
            stop_once_started(app)
            Sanic.serve_single(primary=app)
        else:
            Sanic.serve(primary=app, app_loader=loader)
    except OSError as exc:
        if exc.errno not in BIND_ERRORS:
            raise
        raise SettingsError(
            f"GENCASTER_PORT={settings.port}: cannot listen on {settings.host}:{settings.port} "
            f"({exc.strerror}); free the port or choose another"
        ) from None
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _where(settings: Settings) -> str:
    """The database's kind and place, never its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(settings.database_url)
    if settings.is_sqlite:
        return f"SQLite file {parts.netloc}{parts.path}"
    host = parts.hostname or "localhost"
    return f"PostgreSQL {host}:{parts.port or 5432}{parts.path}"


def _prepare_database(settings: Settings, *, migrate: bool) -> bool:
    """A fresh database is installed at once; pending migrations need ``--migrate``."""
    from gencaster.migrations import known_versions

    pending = asyncio.run(_pending_migrations(settings))
    if not pending:
        return True
    fresh = len(pending) == len(known_versions())
    if not (migrate or fresh):
        print(
            f"Error: {len(pending)} database migration(s) pending; run `gencaster migrate` "
            "(or `gencaster serve --migrate`) first",
            file=sys.stderr,
        )
        return False
    what = "First start: creating the database" if fresh else "Applying migrations"
    _say(f"{what} ({len(pending)} migration(s))…")
    applied = asyncio.run(migrate_database(settings))
    _say(f"Database ready: {', '.join(applied) or 'nothing to apply'}")
    return True


async def _pending_migrations(settings: Settings) -> list[str]:
    from gencaster.db import open_database
    from gencaster.migrations import pending_versions

    prepare_data_dir(settings)
    async with open_database(settings.database_url):
        return await pending_versions()


async def _create_user(settings: Settings, args: argparse.Namespace, password: str) -> None:
    from gencaster.auth import create_user
    from gencaster.db import open_database

    async with open_database(settings.database_url):
        await create_user(
            username=args.username, password=password, is_staff=args.staff, email=args.email
        )


def cmd_createuser(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.errors import GencasterError

    try:
        password = read_password(args)
        asyncio.run(_create_user(settings, args, password))
    except (ValueError, GencasterError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    role = "staff user" if args.staff else "user"
    print(f"Created {role} {args.username!r}")
    return 0


def schema_sdl() -> str:
    from gencaster.schema import schema

    return str(schema).strip() + "\n"


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
        return 0
    output = Path(args.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(sdl)
    except OSError as exc:
        print(f"Error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"Wrote {args.output}")
    return 0


def _unwritable(output: Path) -> str | None:
    """Why ``output`` cannot be written as a new or replaced file, or None."""
    import os

    if output.is_dir():
        return "it is a folder"
    try:  # a missing folder is made, as export-schema does
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"the folder {output.parent} cannot be made ({exc.strerror or exc})"
    if not os.access(output.parent, os.W_OK | os.X_OK):
        return f"the folder {output.parent} is not writable"
    return None


def _media_store(settings: Settings) -> MediaStore:
    from gencaster.media import MediaStore

    return MediaStore.from_settings(settings)


def _files_to_import(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders stand for every file in them (hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = (item for item in path.rglob("*") if item.is_file())
            files.extend(sorted(item for item in found if not item.name.startswith(".")))
        else:
            files.append(path)
    return files


async def _import_audio(settings: Settings, files: list[Path], description: str) -> tuple[int, int]:
    """Import each file; returns how many were refused and how many were already there."""
    from tqdm import tqdm

    from gencaster.admin import same_content
    from gencaster.audio import InvalidAudio, import_audio_file
    from gencaster.db import open_database

    media, skipped, known_before = _media_store(settings), 0, 0
    async with open_database(settings.database_url):
        for path in tqdm(files, desc="Importing", unit="file", file=sys.stderr):
            if not path.is_file():
                skipped += 1
                tqdm.write(f"Skipped {path}: no such file", file=sys.stderr)
                continue
            known = await same_content(path, media)
            if known is not None:
                known_before += 1
                tqdm.write(f"Skipped {path}: already imported as {known.uuid}", file=sys.stderr)
                continue
            try:
                audio = await import_audio_file(path, media=media, description=description)
            except InvalidAudio as exc:
                skipped += 1
                tqdm.write(f"Skipped {path}: {exc.reason}", file=sys.stderr)
            else:
                tqdm.write(f"Imported {path} -> {media.path_of(audio)} ({audio.uuid})")
    return skipped, known_before


def cmd_audio_import(args: argparse.Namespace, settings: Settings) -> int:
    files = _files_to_import(args.paths)
    skipped, known = asyncio.run(_import_audio(settings, files, args.description))
    imported = len(files) - skipped - known
    print(f"Imported {imported} file(s), {known} already there, skipped {skipped}")
    return 1 if skipped else 0


async def _speak(settings: Settings, ssml: str, voice: str) -> tuple[Path, bool]:
    """The speech file's path, and whether it was synthesised now (not found cached)."""
    from gencaster.db import open_database
    from gencaster.streaming.tts import create_speech_service

    media = _media_store(settings)
    service = create_speech_service(settings, media)
    async with open_database(settings.database_url):
        audio = await service.speak(ssml, voice)
    return media.path_of(audio), service.syntheses > 0


def _spoken_text(ssml: str) -> str:
    """The words of an SSML text, without its tags."""
    import re

    return re.sub(r"<[^>]*>", " ", ssml).strip()


def _ssml_of(args: argparse.Namespace) -> str:
    """SSML as given, or the markdown dialect rendered as a markdown cell would be."""
    if args.ssml:
        return args.text
    from gencaster.engine.markdown import render_ssml

    result = render_ssml(args.text)
    for warning in result.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    return result.ssml


def cmd_tts(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.streaming.speech import SpeechError

    if not args.text.strip():
        print("Error: nothing to say: TEXT is empty", file=sys.stderr)
        return 2
    ssml = _ssml_of(args)
    if not _spoken_text(ssml):
        print("Error: nothing to say: TEXT has no words to speak", file=sys.stderr)
        return 2
    try:
        path, made = asyncio.run(_speak(settings, ssml, args.voice))
    except SpeechError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print("Synthesised" if made else "Found in the cache", file=sys.stderr)
    print(path.resolve())
    return 0


def cmd_osc(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.streaming.runtime import run_osc_process

    if not settings.redis_url:
        print(
            "Error: gencaster osc needs GENCASTER_REDIS_URL: the engines in the web "
            "processes hear acknowledgements only through Redis",
            file=sys.stderr,
        )
        return 2
    # One process that serves no HTTP: the web workers' rule about the OSC port is not its.
    settings = settings.with_changes(osc_port=args.port or settings.osc_port or 7000, workers=1)
    check_speech(settings)
    asyncio.run(run_osc_process(settings))
    return 0


def cmd_fake_stream_point(args: argparse.Namespace, settings: Settings) -> int:
    import socket

    from gencaster.streaming.osc.fake_point import options_from_arguments, run_fake_stream_point

    try:
        socket.getaddrinfo(args.server_host, args.server_port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        reason = exc.strerror or exc
        print(
            f"Error: argument --server-host: cannot resolve {args.server_host!r} ({reason})",
            file=sys.stderr,
        )
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_fake_stream_point(**options_from_arguments(args)))
    except OSError as exc:
        where = f"udp {args.host}:{args.lang_port}"
        print(f"Error: cannot listen on {where} ({exc.strerror or exc})", file=sys.stderr)
        return 1
    return 0


def _add_streaming_commands(commands: Any) -> None:
    from gencaster.streaming.osc.fake_point import build_argument_parser

    osc = commands.add_parser(
        "osc", help="run only the OSC server (web processes then use GENCASTER_OSC_PORT=0)"
    )
    osc.add_argument("--port", type=int, help="UDP port (default GENCASTER_OSC_PORT or 7000)")
    osc.set_defaults(handler=cmd_osc)
    fake = commands.add_parser(
        "fake-stream-point", help="a stand-in for a SuperCollider stream point, for demos"
    )
    build_argument_parser(fake)
    fake.set_defaults(handler=cmd_fake_stream_point)


def _add_media_commands(commands: Any) -> None:
    audio = commands.add_parser("audio", help="manage audio files")
    audio_commands = audio.add_subparsers(dest="audio_command", required=True)
    importer = audio_commands.add_parser(
        "import", help="copy WAV/FLAC files (or folders of them) into the media root"
    )
    importer.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="audio files or folders of them"
    )
    importer.add_argument("--description", default="", help="for every imported file")
    importer.set_defaults(handler=cmd_audio_import)
    add_orphans_command(audio_commands)

    tts = commands.add_parser(
        "tts", help="synthesise speech into the cache and print the file's path"
    )
    tts.add_argument("text", help="Gencaster markdown, as in a markdown cell (or SSML)")
    tts.add_argument("--ssml", action="store_true", help="TEXT is SSML, used as is")
    tts.add_argument("--voice", default="default", help="default, male, female, …")
    tts.set_defaults(handler=cmd_tts)


async def _with_database(settings: Settings, work: Callable[[], Any]) -> Any:
    """Run ``work()`` (a coroutine function) with the ORM open, closing it after."""
    from gencaster.db import open_database

    async with open_database(settings.database_url):
        return await work()


def _run_authoring(settings: Settings, work: Callable[[], Any]) -> tuple[int, Any]:
    """Exit code 2 and the reason when the graph or archive is refused."""
    from gencaster.errors import GencasterError

    try:
        return 0, asyncio.run(_with_database(settings, work))
    except GencasterError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 2, None


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from gencaster.authoring.graphs import find_graph
    from gencaster.authoring.lint import Severity, lint_graph

    media = _media_store(settings)

    async def work() -> list[Any]:
        return await lint_graph(await find_graph(args.graph), media.path_of)

    code, diagnostics = _run_authoring(settings, work)
    if code:
        return code
    if args.json:
        print(json.dumps([d.as_json() for d in diagnostics], indent=2, ensure_ascii=False))
    else:
        for d in diagnostics:
            print(f"{d.code} {d.severity.value.lower()}: {d.where()}: {d.message}")
        errors = sum(d.severity == Severity.ERROR for d in diagnostics)
        print(f"{len(diagnostics)} diagnostic(s), {errors} error(s)", file=sys.stderr)
    return 1 if any(d.severity == Severity.ERROR for d in diagnostics) else 0


def _answer(pair: str) -> tuple[str, str]:
    name, separator, value = pair.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"takes NAME=VALUE, not {pair!r}")
    return name, value


def cmd_play(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.authoring.graphs import find_graph
    from gencaster.authoring.play import dry_run
    from gencaster.stream_variables import VariableLimits

    media = _media_store(settings)
    answers = dict(args.answer)

    async def work() -> list[str]:
        graph = await find_graph(args.graph)
        steps = args.max_steps or settings.engine_step_limit
        limits = VariableLimits(
            max_per_stream=settings.max_stream_variables,
            max_value_bytes=settings.max_variable_bytes,
        )
        return await dry_run(
            graph, seed=args.seed, answers=answers, media=media, step_limit=steps, limits=limits
        )

    code, lines = _run_authoring(settings, work)
    if not code:
        sys.stdout.write("".join(line + "\n" for line in lines))
    return code


def cmd_graph_export(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.authoring.archive import export_archive
    from gencaster.authoring.graphs import find_graph

    problem = _unwritable(args.output)
    if problem:
        print(f"Error: cannot write {args.output}: {problem}", file=sys.stderr)
        return 1
    media = _media_store(settings)

    async def work() -> None:
        await export_archive(await find_graph(args.graph), media, args.output)

    code, _ = _run_authoring(settings, work)
    if not code:
        print(f"Wrote {args.output}")
    return code


def cmd_graph_import(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.authoring.archive import import_archive

    media = _media_store(settings)

    async def work() -> Any:
        return await import_archive(args.archive, media, keep_ids=args.keep_ids, rename=args.rename)

    code, graph = _run_authoring(settings, work)
    if not code:
        print(f"Imported graph {graph.name!r} (slug {graph.slug_name!r}, uuid {graph.uuid})")
    return code


def _add_authoring_commands(commands: Any) -> None:
    lint = commands.add_parser(
        "lint", help="check a graph and print numbered diagnostics (exit 1 on errors)"
    )
    lint.add_argument("graph", metavar="GRAPH", help="uuid, slug or name")
    lint.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    lint.set_defaults(handler=cmd_lint)

    play = commands.add_parser(
        "play", help="dry-run a graph with the real engine and no SuperCollider"
    )
    play.add_argument("graph", metavar="GRAPH", help="uuid, slug or name")
    play.add_argument("--seed", type=int, required=True, help="seeds every random choice")
    play.add_argument(
        "--answer", action="append", default=[], metavar="NAME=VALUE", type=_answer,
        help="what the listener answers when asked for NAME (repeatable)",
    )  # fmt: skip
    play.add_argument("--max-steps", type=int, help="default GENCASTER_ENGINE_STEP_LIMIT")
    play.set_defaults(handler=cmd_play)

    graph = commands.add_parser("graph", help="export and import graphs as .gencaster archives")
    graph_commands = graph.add_subparsers(dest="graph_command", required=True)
    export = graph_commands.add_parser("export", help="write a graph and its audio to one file")
    export.add_argument("graph", metavar="GRAPH", help="uuid, slug or name")
    export.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the archive to write"
    )
    export.set_defaults(handler=cmd_graph_export)
    importer = graph_commands.add_parser("import", help="recreate a graph from an archive")
    importer.add_argument("archive", type=Path, metavar="FILE", help="a .gencaster archive")
    importer.add_argument("--keep-ids", action="store_true", help="keep the archive's uuids")
    importer.add_argument(
        "--rename", action="store_true", help="on a name or slug clash, import as a copy"
    )
    importer.set_defaults(handler=cmd_graph_import)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gencaster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (settings from GENCASTER_*)")
    serve.add_argument("--host", help="address to listen on (default GENCASTER_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (default GENCASTER_PORT)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default GENCASTER_WORKERS; >1 needs Redis)"
    )
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="apply pending migrations first (a fresh database is always set up)",
    )
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    createuser = commands.add_parser("createuser", help="create a user (prompts for a password)")
    createuser.add_argument("username", help="the name to log in with")
    createuser.add_argument("--staff", action="store_true", help="may use the editor API")
    createuser.add_argument("--email", default="", help="the user's e-mail address (optional)")
    createuser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    createuser.set_defaults(handler=cmd_createuser)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="a file, or - for stdout")
    export.set_defaults(handler=cmd_export_schema)
    _add_media_commands(commands)
    _add_streaming_commands(commands)
    _add_authoring_commands(commands)
    add_admin_commands(commands)
    check = commands.add_parser(
        "check", help="check every setting and reach the database, Redis and the OSC port"
    )
    check.set_defaults(handler=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        settings = _settings(args)
        if handler not in CREATES_DATABASE + NEEDS_NO_DATABASE:
            _database_exists(settings)
        return handler(args, settings)
    except SettingsError as exc:
        # One line naming the setting: a traceback would bury the reason.
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except NoDatabase as exc:
        print(f"Error: {exc}: {FIRST_STEP}", file=sys.stderr)
        return 1
    except Exception as exc:
        line = _database_failure(exc, settings)
        if line is None:
            raise
        print(f"Error: {line}", file=sys.stderr)
        return 1


CREATES_DATABASE: tuple[Command, ...] = (cmd_serve, cmd_migrate)
NEEDS_NO_DATABASE: tuple[Command, ...] = (cmd_export_schema, cmd_fake_stream_point, cmd_check)


if __name__ == "__main__":
    raise SystemExit(main())
