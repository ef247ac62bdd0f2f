"""The server's Prometheus metrics, and their text for ``/metrics``.

Metrics are process-wide (prometheus-client's model). With several workers, ``gencaster
serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder under the data dir before any
worker starts, so every worker writes its figures there and whichever worker answers
``/metrics`` reports all of them (gauges summed over live workers).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Instruction round trips: a cell's code runs from milliseconds to minutes.
ROUND_TRIP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
DELIVERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)

SOCKETS_OPEN = Gauge(
    "gencaster_websockets_open",
    "Open GraphQL WebSockets, by subprotocol",
    ["protocol"],
    multiprocess_mode="livesum",
)
OPERATIONS = Counter(
    "gencaster_graphql_operations", "GraphQL operations received, by protocol", ["protocol"]
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "gencaster_subscriptions_active",
    "Running GraphQL subscriptions, by root field",
    ["field"],
    multiprocess_mode="livesum",
)
LISTENERS = Gauge(
    "gencaster_stream_listeners",
    "Listeners following a stream in this server, by stream uuid",
    ["stream"],
    multiprocess_mode="livesum",
)
STREAM_POINTS_LIVE = Gauge(
    "gencaster_stream_points_live",
    "Stream points whose last beacon is within the beacon window (read at scrape time)",
    multiprocess_mode="mostrecent",
)
GC_FROZEN = Gauge(
    "gencaster_gc_frozen_objects",
    "Objects the collector policy has frozen (gencaster/collector.py), read at scrape time",
    multiprocess_mode="livesum",
)
INSTRUCTION_ROUND_TRIP = Histogram(
    "gencaster_instruction_round_trip_seconds",
    "Time from sending an instruction to its RECEIVED and to its FINISHED",
    ["until"],
    buckets=ROUND_TRIP_BUCKETS,
)
FANOUT_DELIVERY = Histogram(
    "gencaster_fanout_delivery_seconds",
    "Time from publishing an update to a subscriber in this process reading it",
    buckets=DELIVERY_BUCKETS,
)
BROKER_RECONNECTS = Counter(
    "gencaster_broker_reconnects", "Redis pub/sub connections re-established after a loss"
)
SANDBOX_STOPS = Counter(
    "gencaster_sandbox_budget_stops", "Python cells stopped by the sandbox's budget"
)
SPEECH_CACHE = Counter(
    "gencaster_speech_cache", "Speech requests answered from the cache or synthesised", ["result"]
)
GRAPH_READ_CACHE = Counter(
    "gencaster_graph_read_cache",
    "Graph reads over HTTP answered from kept bytes (hit) or run (miss)",
    ["result"],
)
HTTP_REQUESTS = Counter(
    "gencaster_http_requests", "HTTP responses sent, by status code", ["status"]
)


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """An empty folder for the workers' figures; set in the environment workers inherit.

    Called by the serving process before any worker imports this module's metrics
    (the variable is read when prometheus-client is first imported in a process).
    """
    folder = (data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)  # figures of an earlier run would add up
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def worker_exited(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay part of the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        _multiprocess.mark_process_dead(pid)


def exposition() -> bytes:
    """Every metric in the text format: this process's, or every worker's."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
