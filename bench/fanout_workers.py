"""Fan-out with PostgreSQL, Redis and one or more workers: do more workers lower p99?

    .venv/bin/python -m bench.fanout_workers [--watchers 5000] [--workers 1 2]
        [--updates 8] [--clients 4] [--spacing 1.0]

For each worker count, ``gencaster serve`` runs as deployed (a fresh PostgreSQL
database, Redis as the broker, ``GENCASTER_WORKERS`` workers) and gets the same
round as ``bench.fanout_compare``: N ``graph`` subscribers from several client
processes, then M position changes. Printed per worker count: CPU per update over
the server and its workers, delivery p50/p99/max, the fraction delivered and RSS per
socket, then p99 against one worker. Needs PostgreSQL and Redis on loopback
(``GENCASTER_TEST_POSTGRES_URL`` as for the tests, ``GENCASTER_BENCH_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid

from bench.fanout_compare import gencaster_graph, run_round
from tests.support.databases import postgres_database
from tests.support.processes import (
    prepare_database,
    server_env,
    server_process,
    staff_session,
)

REDIS_URL = os.environ.get("GENCASTER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


async def one_setup(workers: int, arguments: argparse.Namespace) -> dict[str, float]:
    async with postgres_database() as database_url:
        with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as data_dir:
            env = server_env(
                data_dir,
                database_url=database_url,
                redis_url=REDIS_URL,
                redis_prefix=f"bench-{uuid.uuid4().hex[:8]}",
                workers=str(workers),
                max_connections_per_address="100000",
                ws_init_timeout_s="120",
            )
            await asyncio.to_thread(prepare_database, env)
            async with server_process(env) as running:
                http = await staff_session(running)
                try:
                    name = f"{workers} worker(s)"
                    target = await gencaster_graph(name, running.process.pid, running, http)
                    return await run_round(
                        target,
                        f"http://127.0.0.1:{running.port}",
                        arguments.watchers,
                        arguments.updates,
                        arguments.clients,
                        arguments.spacing,
                    )
                finally:
                    await http.aclose()


async def main(arguments: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results = {workers: await one_setup(workers, arguments) for workers in arguments.workers}
    first = results[arguments.workers[0]]
    for workers, figures in results.items():
        print(
            f"    {workers} worker(s): p99 {figures['p99']:.1f} ms "
            f"({figures['p99'] / first['p99']:.2f}x of {arguments.workers[0]}), "
            f"CPU/update {figures['cpu_ms']:.1f} ms",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--updates", type=int, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--spacing", type=float, default=1.0)
    asyncio.run(main(parser.parse_args()))
