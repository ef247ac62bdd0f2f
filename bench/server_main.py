"""The real Gencaster app for benchmarks, plus ``GET /_bench/queries`` (SQL statements run).

``GET /_bench/gc`` gives the collection pauses since the last call, ``GET
/_bench/garbage`` collects at once and counts the cyclic garbage found, by type;
``GENCASTER_BENCH_GC=off`` and ``GENCASTER_BENCH_GC_THRESHOLD`` are collector
experiments (see ``_collector_experiment``); compare policies with
``GENCASTER_GC_POLICY``. With
``GENCASTER_BENCH_COUNT_QUERIES=0`` statements are not counted (counting logs each
one, which costs CPU a fan-out benchmark would charge to the server).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import resource
import sys
import tracemalloc
from collections import Counter

from sanic import Request, Sanic, text

from bench.gc_pauses import GcPauses
from gencaster.app import create_app
from gencaster.cli import configure_logging
from gencaster.settings import Settings
from gencaster.transport.connections import GuardedProtocol


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip()[:6].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            self.count += 1


def _collector_experiment(policy: str) -> None:
    """On top of the app's own policy (``GENCASTER_GC_POLICY``): ``off`` disables the
    collector, ``GENCASTER_BENCH_GC_THRESHOLD`` ("700,10,10") sets its thresholds."""
    if policy == "off":
        gc.disable()
    if threshold := os.environ.get("GENCASTER_BENCH_GC_THRESHOLD"):
        gc.set_threshold(*(int(part) for part in threshold.split(",")))


def main() -> None:
    configure_logging()
    settings = Settings.from_env()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 10,000 sockets need it
    app = create_app(settings)
    counter = QueryCounter()
    if os.environ.get("GENCASTER_BENCH_COUNT_QUERIES", "1") != "0":
        database_logger = logging.getLogger("tortoise.db_client")
        database_logger.setLevel(logging.DEBUG)
        database_logger.propagate = False
        database_logger.addHandler(counter)
    pauses = GcPauses()

    async def queries(request: Request) -> object:
        return text(str(counter.count))

    async def collections(request: Request) -> object:
        return text(json.dumps(pauses.take()))

    _collector_experiment(os.environ.get("GENCASTER_BENCH_GC", "default"))
    snapshots: list[tracemalloc.Snapshot] = []

    async def memory(request: Request) -> object:
        """With PYTHONTRACEMALLOC set: the lines that allocated most since the last call."""
        if not tracemalloc.is_tracing():
            return text("tracemalloc is off (set PYTHONTRACEMALLOC=1)")
        snapshot = tracemalloc.take_snapshot()
        previous = snapshots[-1] if snapshots else None
        snapshots[:] = [snapshot]
        if previous is None:
            return text("first snapshot taken")
        top = snapshot.compare_to(previous, "lineno")[:40]
        return text("\n".join(str(line) for line in top))

    async def garbage(request: Request) -> object:
        """Collect now and count the unreachable cycles found, by type (the 40 largest).

        The app's collector policy is off meanwhile: frozen objects are counted too, and
        what is kept for counting is not frozen with the survivors."""
        collector = request.app.ctx.collector
        await collector.remove()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            found = gc.collect()
            kinds = Counter(type(item).__qualname__ for item in gc.garbage)
        finally:
            gc.garbage.clear()
            gc.set_debug(0)
            gc.collect()  # free what was kept for counting
            collector.install()
        lines = [f"{found} unreachable"] + [f"{n:8d} {k}" for k, n in kinds.most_common(40)]
        return text("\n".join(lines))

    async def census(request: Request) -> object:
        """Live tracked objects by type, frozen ones included: counts and shallow sizes."""
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        try:
            kinds: Counter[str] = Counter()
            sizes: Counter[str] = Counter()
            for item in gc.get_objects():
                kind = type(item).__qualname__
                if kind in ("coroutine", "async_generator", "generator"):
                    kind += " " + getattr(item, "__qualname__", "?")
                kinds[kind] += 1
                sizes[kind] += sys.getsizeof(item)
        finally:
            if frozen:
                gc.freeze()
        return text(json.dumps({"count": kinds, "bytes": sizes}))

    app.add_route(census, "/_bench/census")
    app.add_route(garbage, "/_bench/garbage")
    app.add_route(memory, "/_bench/memory")
    app.add_route(queries, "/_bench/queries")
    app.add_route(collections, "/_bench/gc")
    app.prepare(
        host="127.0.0.1",
        port=settings.port,
        single_process=True,
        access_log=False,
        motd=False,
        protocol=GuardedProtocol,
    )
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
