"""create_broker picks the backend from the URL; the package exports only its public names."""

from __future__ import annotations

from types import ModuleType

import pytest

import gencaster.broker
from gencaster.broker import MemoryBroker, RedisBroker, create_broker


@pytest.mark.parametrize("url", [None, "", "memory://"])
async def test_no_url_or_memory_url_gives_a_memory_broker(url: str | None) -> None:
    broker = create_broker(url, prefix="p")
    assert isinstance(broker, MemoryBroker)
    assert broker.prefix == "p"


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3", "rediss://127.0.0.1:6380/0"])
async def test_redis_urls_give_a_redis_broker(url: str) -> None:
    broker = create_broker(url, prefix="p")
    assert isinstance(broker, RedisBroker)
    await broker.close()


def test_unknown_scheme_is_rejected_without_echoing_the_password() -> None:
    with pytest.raises(ValueError, match="'amqp'") as caught:
        create_broker("amqp://user:hunter2@localhost/")
    assert "hunter2" not in str(caught.value)


def test_package_exports_every_public_class_and_function() -> None:
    defined_here = {
        name
        for name, value in vars(gencaster.broker).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and getattr(value, "__module__", "").startswith("gencaster.broker")
    }
    assert defined_here == set(gencaster.broker.__all__)
