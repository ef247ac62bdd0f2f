"""Reading a story graph over HTTP: Gencaster against a bare Sanic answering the same bytes.

    .venv/bin/python -m bench.graph_read [--clients 8] [--seconds 10] [--nodes 50] [--no-cache]

Builds a graph of ``--nodes`` nodes (two cells each but the entry node's, doors and a
chain of edges) on a real server (``bench.server_main``), captures the answer of the
editor's ``graph(pk)`` query once, then runs ``bench.baseline_server`` serving those
bytes. Both are driven by the same client: ``--clients`` concurrent HTTP connections
for ``--seconds`` after a warm-up. Prints req/s, p50/p99 latency and the server
process's CPU (user + system, from psutil) per read for each, and the ratios.
The client runs in this process and may itself be the limit on req/s; server CPU
per read is the comparison that does not depend on it. Answers of unchanged graphs
are served from the read cache; ``--no-cache`` measures running every read instead.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.support import percentile, query_count, server, staff_session
from tests.support.polling import eventually
from tests.support.server import free_port

GRAPH_QUERY = """query Graph($pk: ID!) {
  graph(pk: $pk) {
    uuid name displayName slugName templateName streamAssignmentPolicy publicVisible
    startText aboutText endText
    nodes {
      uuid name color positionX positionY isEntryNode isBlockingNode
      scriptCells { uuid cellType cellCode cellOrder }
      nodeDoors { uuid doorType name order isDefault }
    }
    edges { uuid inNodeDoor { uuid } outNodeDoor { uuid } }
  }
}"""


@dataclass
class Figures:
    reads: int
    seconds: float
    latencies_ms: list[float]
    cpu_s: float
    other_answers: int = 0  # answers that were not the graph's bytes (e.g. refused)

    @property
    def rate(self) -> float:
        return self.reads / self.seconds

    @property
    def cpu_ms_per_read(self) -> float:
        return self.cpu_s * 1000 / max(self.reads, 1)

    def line(self, label: str) -> str:
        return (
            f"{label:<18} {self.rate:8.1f} req/s | latency ms"
            f" p50 {percentile(self.latencies_ms, 0.5):7.2f}"
            f" p99 {percentile(self.latencies_ms, 0.99):7.2f}"
            f" | server CPU {self.cpu_ms_per_read:7.3f} ms/read ({self.reads} reads)"
            + (f" | {self.other_answers} OTHER ANSWERS" if self.other_answers else "")
        )


async def post(http: httpx.AsyncClient, url: str, query: str, **variables: object) -> dict:
    response = await http.post(url, json={"query": query, "variables": variables})
    payload = response.json()
    if payload.get("errors"):
        raise RuntimeError(f"{query[:60]}...: {payload['errors']}")
    return payload["data"]


async def build_graph(http: httpx.AsyncClient, url: str, nodes: int) -> str:
    """A graph of ``nodes`` nodes: two comment cells on each added node, edges in a chain."""
    stamp = f"{time.time():.6f}".replace(".", "-")
    graph = (
        await post(
            http,
            url,
            "mutation($i: AddGraphInput!) { addGraph(graphInput: $i) { uuid } }",
            i={
                "name": f"read-bench-{stamp}",
                "displayName": "Read bench",
                "slugName": f"read-bench-{stamp}",
                "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                "templateName": "DEFAULT",
            },
        )
    )["addGraph"]["uuid"]
    for index in range(1, nodes):
        await post(
            http,
            url,
            "mutation($n: NodeCreate!) { addNode(newNode: $n) }",
            n={"name": f"Scene {index}", "graphUuid": graph, "positionX": index * 40.0},
        )
    shape = await post(
        http,
        url,
        "query($pk: ID!) { graph(pk: $pk) { nodes { uuid isEntryNode"
        " nodeDoors { uuid doorType } } } }",
        pk=graph,
    )
    chain = shape["graph"]["nodes"]
    for node in chain:
        if node["isEntryNode"]:
            continue
        cells = [
            {"cellType": "COMMENT", "cellCode": f"Scene notes {order}: " + "words " * 5}
            for order in range(2)
        ]
        await post(
            http,
            url,
            "mutation($c: [ScriptCellInputCreate!]!, $n: UUID!) "
            "{ createScriptCells(scriptCellInputs: $c, nodeUuid: $n) { uuid } }",
            c=cells,
            n=node["uuid"],
        )
    for before, after in itertools.pairwise(chain):
        out_door = next(d for d in before["nodeDoors"] if d["doorType"] == "OUTPUT")
        in_door = next(d for d in after["nodeDoors"] if d["doorType"] == "INPUT")
        await post(
            http,
            url,
            "mutation($e: EdgeInput!) { addEdge(newEdge: $e) { uuid } }",
            e={"nodeDoorOutUuid": out_door["uuid"], "nodeDoorInUuid": in_door["uuid"]},
        )
    return graph


async def drive(
    url: str,
    body: dict,
    expected: bytes,
    cookies: httpx.Cookies,
    pid: int,
    clients: int,
    seconds: float,
) -> Figures:
    """``clients`` connections posting ``body`` back to back; a 1 s warm-up is not counted.

    Every answer is compared with ``expected``: one that differs (a refusal, an error)
    is counted apart, so it cannot pass for a fast read.
    """
    process = psutil.Process(pid)
    latencies: list[float] = []
    other = 0
    measuring = False
    stop_at = 0.0

    async def client() -> None:
        async with httpx.AsyncClient(cookies=cookies, timeout=60) as http:
            while True:
                started = time.perf_counter()
                if measuring and started >= stop_at:
                    return
                response = await http.post(url, json=body)
                response.raise_for_status()
                if measuring:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.content != expected:
                        nonlocal other
                        other += 1

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.sleep(1.0)
    cpu_before = sum(process.cpu_times()[:2])
    started = time.perf_counter()
    stop_at = started + seconds
    measuring = True
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    return Figures(len(latencies), elapsed, latencies, cpu, other)


async def run_baseline(
    body: bytes, request: dict, cookies: httpx.Cookies, clients: int, seconds: float
) -> Figures:
    """``bench.baseline_server`` answering ``body``, driven like Gencaster was."""
    with tempfile.TemporaryDirectory(prefix="gencaster-bench-") as tmp:
        body_file = Path(tmp) / "answer.json"
        body_file.write_bytes(body)
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bench.baseline_server"),
            *("--port", str(port), "--body", str(body_file)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            return await _drive_baseline(
                port, process.pid, body, request, cookies, clients, seconds
            )
        finally:
            process.terminate()
            await process.wait()


async def _drive_baseline(
    port: int,
    pid: int,
    body: bytes,
    request: dict,
    cookies: httpx.Cookies,
    clients: int,
    seconds: float,
) -> Figures:
    url = f"http://127.0.0.1:{port}/graphql"
    async with httpx.AsyncClient() as http:

        async def answers() -> bool:
            try:
                return (await http.post(url, json=request)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(answers, within=30, message="the baseline did not start")
        if (await http.post(url, json=request)).content != body:
            raise RuntimeError("the baseline answers other bytes")
    return await drive(url, request, body, cookies, pid, clients, seconds)


async def main(
    clients: int,
    seconds: float,
    nodes: int,
    profile: Path | None,
    log: Path | None,
    cache: bool = True,
) -> None:
    settings = {} if cache else {"graph_read_cache_bytes": "0"}
    async with server(profile, log, **settings) as running:
        http = await staff_session(running)
        graph = await build_graph(http, running.url, nodes)
        request = {"query": GRAPH_QUERY, "variables": {"pk": graph}}
        answer = await http.post(running.url, json=request)
        data = answer.json()["data"]["graph"]
        cells = sum(len(node["scriptCells"]) for node in data["nodes"])
        print(
            f"graph(pk): {len(data['nodes'])} nodes, {cells} cells, {len(data['edges'])} edges,"
            f" {len(answer.content)} bytes; {clients} clients, {seconds:.0f} s each"
        )
        queries = await query_count(running)
        await http.post(running.url, json=request)
        print(f"SQL statements per read: {await query_count(running) - queries}")
        gencaster = await drive(
            running.url,
            request,
            answer.content,
            http.cookies,
            running.process.pid,
            clients,
            seconds,
        )
        await http.aclose()
    baseline = await run_baseline(answer.content, request, http.cookies, clients, seconds)
    print(gencaster.line("gencaster"))
    print(baseline.line("minimal sanic"))
    print(
        f"{'ratio':<18} {baseline.rate / gencaster.rate:8.1f}x req/s | p99 "
        f"{percentile(gencaster.latencies_ms, 0.99) / percentile(baseline.latencies_ms, 0.99):.1f}x"
        f" | server CPU {gencaster.cpu_ms_per_read / baseline.cpu_ms_per_read:.1f}x per read"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--profile", type=Path, help="run Gencaster under cProfile, stats here")
    parser.add_argument("--log", type=Path, help="Gencaster's output goes here")
    parser.add_argument("--no-cache", action="store_true", help="run every read, keep none")
    args = parser.parse_args()
    asyncio.run(
        main(args.clients, args.seconds, args.nodes, args.profile, args.log, not args.no_cache)
    )


if __name__ == "__main__":
    cli()
