"""The admin's toolbox in ``gencaster``: users, stream points, streams, speech cache, check.

Lists print as aligned tables; long work shows a progress bar on standard error.
Every command opens the database itself and closes it again.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from gencaster.settings import Settings, SettingsError

MAX_CELL = 48


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], max_cell: int = MAX_CELL
) -> None:
    """Columns padded to their widest cell; long cells cut short."""
    cells = [[_cell(value, max_cell) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), ["-" * width for width in widths], *cells]:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
    if not rows:
        print("(none)")


def _cell(value: object, max_cell: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = " ".join(str(value).split())
    return text if len(text) <= max_cell else text[: max_cell - 1] + "…"


def _run(settings: Settings, work: Callable[[], Awaitable[Any]]) -> int:
    """Run ``work`` with the database open; an ``AdminError`` is one line and exit 1."""
    from gencaster.admin import AdminError
    from gencaster.db import open_database

    async def opened() -> Any:
        async with open_database(settings.database_url):
            return await work()

    try:
        result = asyncio.run(opened())
    except AdminError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 1
    return 0 if result is None else int(result)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no uuid") from None


def _progress(total: int, what: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="item", file=sys.stderr, disable=total == 0)


# Users.


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import list_users

    async def work() -> None:
        users = await list_users()
        print_table(
            ("username", "staff", "active", "email", "last login", "joined"),
            [
                (
                    u.username,
                    u.is_staff,
                    u.is_active,
                    u.email,
                    _when(u.last_login),
                    _when(u.date_joined),
                )
                for u in users
            ],
        )

    return _run(settings, work)


def cmd_users_password(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import announcing, set_password

    try:
        password = read_password(args)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1

    async def work() -> None:
        async with announcing(settings) as channel:
            active = await set_password(args.username, password, channel)
        print(f"Set the password of {args.username!r}; their sessions have ended")
        if not active:
            print(
                f"Note: {args.username!r} is deactivated and cannot log in; "
                "`gencaster users activate` allows it",
                file=sys.stderr,
            )

    return _run(settings, work)


def cmd_users_staff(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import announcing, set_staff

    staff = args.state == "on"

    async def work() -> None:
        async with announcing(settings) as channel:
            changed = await set_staff(args.username, staff, channel)
        state = "staff" if staff else "not staff"
        print(f"{args.username!r} is {'now' if changed else 'already'} {state}")

    return _run(settings, work)


def cmd_users_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import announcing, deactivate

    async def work() -> None:
        async with announcing(settings) as channel:
            ended = await deactivate(args.username, channel)
        print(f"Deactivated {args.username!r}; ended {ended} session(s)")

    return _run(settings, work)


def cmd_users_activate(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import activate

    async def work() -> None:
        changed = await activate(args.username)
        print(f"{args.username!r} {'may log in again' if changed else 'is already active'}")

    return _run(settings, work)


# Stream points and streams.


def cmd_points_list(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import list_points

    async def work() -> None:
        rows = await list_points(settings.beacon_window_s)
        print_table(
            ("uuid", "name", "address", "live", "last beacon", "streams with listeners"),
            [
                (
                    r.point.uuid,
                    r.point.name,
                    f"{r.point.host}:{r.point.port}",
                    r.live,
                    _when(r.point.last_live),
                    r.streams,
                )
                for r in rows
            ],
        )

    return _run(settings, work)


def cmd_points_forget(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import forget_point

    async def work() -> None:
        point = await forget_point(args.point, settings.beacon_window_s)
        print(f"Forgot stream point {point.uuid} ({point.host}:{point.port})")

    return _run(settings, work)


def cmd_streams_list(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import list_streams

    async def work() -> None:
        streams = await list_streams(args.all)
        print_table(
            ("uuid", "graph", "stream point", "listeners", "last change"),
            [
                (
                    s.uuid,
                    s.graph.name,
                    f"{s.stream_point.host}:{s.stream_point.port}",
                    s.num_listeners,
                    _when(s.modified_date),
                )
                for s in streams
            ],
        )

    return _run(settings, work)


def cmd_streams_stop(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import AdminError, announcing, stop_stream, stoppable_stream

    async def work() -> None:
        if not settings.redis_url:
            await stoppable_stream(args.stream)
            # The server's broker lives in its own process: nothing here can reach it.
            raise AdminError(
                "Without GENCASTER_REDIS_URL no running server hears this command; "
                "the stream runs until its listeners leave or the server stops"
            )
        async with announcing(settings) as channel:
            stream = await stop_stream(args.stream, channel)
        print(f"Asked the server running stream {stream.uuid} to stop it")

    return _run(settings, work)


# Speech cache and orphaned files.


def cmd_speech_list(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import speech_entries

    async def work() -> None:
        entries = await speech_entries()
        print_table(
            ("uuid", "voice", "backend", "bytes", "created", "text"),
            [
                (
                    e.uuid,
                    e.voice,
                    e.backend,
                    e.audio_file.file_size,
                    _when(e.created_date),
                    e.ssml_text,
                )
                for e in entries
            ],
        )

    return _run(settings, work)


def cmd_speech_prune(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import prune_speech, since, speech_entries
    from gencaster.media import MediaStore

    media = MediaStore.from_settings(settings)

    async def work() -> None:
        with _progress(len(await speech_entries()), "Pruning speech") as bar:
            removed, freed = await prune_speech(media, since(args.older_than_days), bar.update)
        print(f"Removed {removed} cached speech file(s), freed {freed} bytes")

    return _run(settings, work)


def cmd_audio_orphans(args: argparse.Namespace, settings: Settings) -> int:
    from gencaster.admin import orphaned_files, prune_orphans
    from gencaster.media import MediaStore

    media = MediaStore.from_settings(settings)

    async def work() -> None:
        orphans = await orphaned_files(media)
        if not args.prune:
            print_table(
                ("file", "bytes"),
                [(path.relative_to(media.root), path.stat().st_size) for path in orphans],
            )
            return
        with _progress(len(orphans), "Deleting") as bar:
            freed = prune_orphans(orphans, bar.update)
        print(f"Deleted {len(orphans)} orphaned file(s), freed {freed} bytes")

    return _run(settings, work)


def _when(moment: Any) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def add_admin_commands(commands: Any) -> None:
    """``users``, ``points``, ``streams``, ``speech`` and ``audio orphans``."""
    users = commands.add_parser("users", help="list and manage users").add_subparsers(
        dest="users_command", required=True
    )
    users.add_parser("list", help="every user, staff or not").set_defaults(handler=cmd_users_list)
    password = users.add_parser("set-password", help="set a password; ends the user's sessions")
    password.add_argument("username", help="the user's name")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.set_defaults(handler=cmd_users_password)
    staff = users.add_parser("staff", help="give or take the right to use the editor")
    staff.add_argument("username", help="the user's name")
    staff.add_argument("state", choices=("on", "off"), help="on: staff; off: not staff")
    staff.set_defaults(handler=cmd_users_staff)
    off = users.add_parser("deactivate", help="refuse logins; ends sessions and subscriptions")
    off.add_argument("username", help="the user's name")
    off.set_defaults(handler=cmd_users_deactivate)
    on = users.add_parser("activate", help="allow logins again after deactivate")
    on.add_argument("username", help="the user's name")
    on.set_defaults(handler=cmd_users_activate)

    points = commands.add_parser("points", help="stream points").add_subparsers(
        dest="points_command", required=True
    )
    points.add_parser("list", help="every known point, live or not").set_defaults(
        handler=cmd_points_list
    )
    forget = points.add_parser("forget", help="delete a point that is gone, with its streams")
    forget.add_argument("point", type=_uuid, help="the point's uuid (see points list)")
    forget.set_defaults(handler=cmd_points_forget)

    streams = commands.add_parser("streams", help="streams and their listeners").add_subparsers(
        dest="streams_command", required=True
    )
    listing = streams.add_parser("list", help="streams with listeners")
    listing.add_argument("--all", action="store_true", help="also streams nobody listens to")
    listing.set_defaults(handler=cmd_streams_list)
    stop = streams.add_parser("stop", help="end a stream; its listeners are told it stopped")
    stop.add_argument("stream", type=_uuid, help="the stream's uuid (see streams list)")
    stop.set_defaults(handler=cmd_streams_stop)

    speech = commands.add_parser("speech", help="the speech cache").add_subparsers(
        dest="speech_command", required=True
    )
    speech.add_parser("list", help="cached speech files").set_defaults(handler=cmd_speech_list)
    prune = speech.add_parser("prune", help="delete cached speech no audio cell plays")
    prune.add_argument(
        "--older-than-days", type=float, metavar="DAYS", help="only entries older than DAYS"
    )
    prune.set_defaults(handler=cmd_speech_prune)


def add_orphans_command(audio_commands: Any) -> None:
    orphans = audio_commands.add_parser(
        "orphans", help="files in the media root that no audio file names"
    )
    orphans.add_argument("--prune", action="store_true", help="delete them instead of listing")
    orphans.set_defaults(handler=cmd_audio_orphans)


# gencaster check.


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Every setting was validated on the way in; now reach what they point at."""
    results = asyncio.run(_checks(settings))
    print_table(("check", "result"), list(results.items()), max_cell=300)
    failed = [name for name, result in results.items() if not result.startswith("ok")]
    if failed:
        print(f"Not ready: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("Everything Gencaster needs is in place", file=sys.stderr)
    return 0


async def _checks(settings: Settings) -> dict[str, str]:
    results = {"settings": "ok", "data dir": _writable(settings), "speech": _speech(settings)}
    results["database"], results["migrations"] = await _database(settings)
    results["redis"] = await _redis(settings)
    results["osc port"] = await _osc_port(settings)
    return results


def _speech(settings: Settings) -> str:

    try:
        check_speech(settings)
    except SettingsError as exc:
        return str(exc)
    return "ok"


async def _database(settings: Settings) -> tuple[str, str]:
    from tortoise import connections

    from gencaster.db import open_database
    from gencaster.migrations import pending_versions

    try:
        async with asyncio.timeout(10), open_database(settings.database_url):
            await connections.get("default").execute_query("SELECT 1")
            pending = await pending_versions()
    except Exception as exc:
        return f"unreachable ({_reason(exc)})", "unknown"
    if pending:
        return "ok", f"{len(pending)} pending: run `gencaster migrate`"
    return "ok", "ok"


async def _redis(settings: Settings) -> str:
    if not settings.redis_url:
        return "ok (not configured: one process, in-memory broker)"
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        return f"unreachable ({_reason(exc)})"
    finally:
        await client.aclose()
    return "ok"


async def _osc_port(settings: Settings) -> str:
    """Whether ``serve`` (or ``gencaster osc``) could bind the OSC port now."""
    if not settings.osc_port:
        return "ok (off in this process: GENCASTER_OSC_PORT=0)"
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(settings.osc_host, settings.osc_port)
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and await _server_is_ready(settings):
            return f"ok (held by the running server, whose /readyz answers {_server_url(settings)})"
        return (
            f"cannot bind udp {settings.osc_host}:{settings.osc_port} ({exc.strerror}); "
            "is a server already running?"
        )
    transport.close()
    return "ok"


def _server_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


async def _server_is_ready(settings: Settings) -> bool:
    """A port in use is fine when it is this deployment's own server that holds it.

    The standard library's client: the CLI needs nothing the server does not.
    """
    import urllib.error
    import urllib.request

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{_server_url(settings)}/readyz", timeout=5) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return await asyncio.to_thread(ready)


def _writable(settings: Settings) -> str:
    import os

    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder} ({exc.strerror})"
    return "ok" if os.access(folder, os.W_OK) else f"{folder} is not writable"


def _reason(exc: BaseException) -> str:
    """The error's kind and first line, never a URL with its password."""
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    if "://" in text:
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_speech(settings: Settings) -> None:
    """The speech backend and its language, checked before anything listens."""
    from gencaster.streaming.tts import configured_backend

    configured_backend(settings)


def read_password(args: argparse.Namespace) -> str:
    """A new password from standard input (scripts) or asked twice at the prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise ValueError("The passwords differ")
    return first
