"""Reading a server's ``/metrics`` the way Prometheus does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


async def scrape(client: httpx.AsyncClient, base_url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample as ``{(name, labels): value}``."""
    response = await client.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    samples: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """One sample's value; 0 for a series not (yet) reported."""
    return samples.get((name, frozenset(labels.items())), 0.0)
