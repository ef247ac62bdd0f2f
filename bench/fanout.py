"""Fan-out of the editor's ``graph`` subscription: N watchers, M changes.

    .venv/bin/python -m bench.fanout --watchers 100 1000 --updates 20

For each N: connect N graphql-transport-ws sockets subscribed to one graph, then
send M ``updateNode`` mutations one after another and time, per watcher, from the
mutation's request to the arrival of the graph showing that change. Prints connect
time, p50/p99/max delivery latency, the fraction delivered, server RSS before and
after the subscribers joined, and SQL statements per update.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import connect

from bench.support import percentile, query_count, rss_mb, server, staff_session
from gencaster.auth import SESSION_COOKIE

GRAPH_SUB = (
    "subscription($g: UUID!) { graph(graphUuid: $g) { uuid nodes { uuid name positionX } } }"
)


class Watcher:
    def __init__(self) -> None:
        self.arrivals: dict[float, float] = {}
        self.ready = asyncio.Event()
        self.connection = None

    async def run(self, url: str, graph_uuid: str, cookie: str) -> None:
        self.connection = await connect(
            url,
            subprotocols=["graphql-transport-ws"],
            additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
            max_queue=None,
            open_timeout=60,
        )
        await self.connection.send(json.dumps({"type": "connection_init", "payload": {}}))
        await self.connection.recv()
        await self.connection.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": GRAPH_SUB, "variables": {"g": graph_uuid}},
                }
            )
        )
        async for raw in self.connection:
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            self.ready.set()
            for node in message["payload"]["data"]["graph"]["nodes"]:
                self.arrivals.setdefault(node["positionX"], time.perf_counter())


async def make_graph(http, url: str) -> tuple[str, str]:
    response = await http.post(
        url,
        json={
            "query": """mutation($i: AddGraphInput!) {
        addGraph(graphInput: $i) { uuid nodes { uuid } } }""",
            "variables": {
                "i": {
                    "name": f"bench-{time.time()}",
                    "displayName": "bench",
                    "slugName": f"bench-{time.time()}",
                    "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                    "templateName": "DEFAULT",
                }
            },
        },
    )
    graph = response.json()["data"]["addGraph"]
    return graph["uuid"], graph["nodes"][0]["uuid"]


async def run_round(server, watchers_count: int, updates: int) -> None:
    http = await staff_session(server)
    graph_uuid, node_uuid = await make_graph(http, server.url)
    rss_before = rss_mb(server)
    watchers = [Watcher() for _ in range(watchers_count)]
    started = time.perf_counter()
    tasks = []
    for batch_start in range(0, watchers_count, 100):
        batch = watchers[batch_start : batch_start + 100]
        cookie = http.cookies[SESSION_COOKIE]
        tasks += [asyncio.create_task(w.run(server.ws_url, graph_uuid, cookie)) for w in batch]
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in batch)), 120)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)
    rss_joined = rss_mb(server)
    queries_before = await query_count(server)
    sent_at: dict[float, float] = {}
    for index in range(1, updates + 1):
        position = float(index)
        sent_at[position] = time.perf_counter()
        await http.post(
            server.url,
            json={
                "query": "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }",
                "variables": {"u": {"uuid": node_uuid, "positionX": position}},
            },
        )
        await asyncio.sleep(0.25)
    await asyncio.sleep(2.0)
    queries_after = await query_count(server)
    latencies = [
        (watcher.arrivals[position] - sent) * 1000
        for watcher in watchers
        for position, sent in sent_at.items()
        if position in watcher.arrivals
    ]
    delivered = len(latencies) / (watchers_count * updates)
    per_update = (queries_after - queries_before) / updates
    print(
        f"N={watchers_count:5d} M={updates}: connect {connect_seconds:6.2f} s | latency ms "
        f"p50 {percentile(latencies, 0.5):7.1f} p99 {percentile(latencies, 0.99):7.1f} "
        f"max {max(latencies, default=float('nan')):7.1f} | delivered {delivered:.4f} | "
        f"RSS {rss_before:6.1f} -> {rss_joined:6.1f} MB "
        f"({(rss_joined - rss_before) * 1000 / watchers_count:5.1f} KB/subscription) | "
        f"SQL/update {per_update:5.1f} (incl. the mutation's own)"
    )
    for watcher in watchers:
        if watcher.connection is not None:
            await watcher.connection.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await http.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watchers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    settings = {}
    if args.database_url:
        settings["database_url"] = args.database_url
    if args.redis_url:
        settings["redis_url"] = args.redis_url
    async with server(**settings) as running:
        for count in args.watchers:
            await run_round(running, count, args.updates)


if __name__ == "__main__":
    asyncio.run(main())
