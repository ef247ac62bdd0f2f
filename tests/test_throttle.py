"""Failed attempts make their key wait, twice as long each time, and success forgets them."""

from __future__ import annotations

import pytest

from gencaster.throttle import FailureThrottle, TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_free_failures_then_a_doubling_wait():
    clock = Clock()
    throttle = FailureThrottle(free=3, max_delay=8.0, clock=clock)
    for _ in range(3):
        assert throttle.retry_after(["alice"]) == 0
        throttle.failed(["alice"])
    waits = [throttle.retry_after(["alice"])]
    for _ in range(5):
        throttle.failed(["alice"])
        waits.append(throttle.retry_after(["alice"]))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert throttle.retry_after(["bob"]) == 0
    clock.now += 8.0
    assert throttle.retry_after(["alice"]) == 0


def test_check_refuses_with_the_seconds_to_wait():
    throttle = FailureThrottle(free=1, max_delay=60.0, clock=Clock())
    throttle.failed(["10.0.0.1"])
    throttle.failed(["10.0.0.1"])
    with pytest.raises(TooManyAttempts) as refused:
        throttle.check(["alice", "10.0.0.1"])
    assert refused.value.code == "TOO_MANY_REQUESTS" and refused.value.retry_after == 2


def test_success_forgets_and_attempts_under_way_count():
    throttle = FailureThrottle(free=2, max_delay=60.0, clock=Clock())
    throttle.failed(["alice", "bob"])
    throttle.succeeded(["alice"])
    assert throttle.retry_after(["alice"]) == 0
    throttle.started(["bob"])
    assert throttle.retry_after(["bob"]) == 1.0  # one failed, one under way: the next waits
    throttle.succeeded(["bob"], forget=False)
    assert throttle.retry_after(["bob"]) == 0


def test_memory_is_bounded_and_quiet_keys_start_afresh():
    clock = Clock()
    throttle = FailureThrottle(free=1, max_delay=10.0, max_keys=100, clock=clock)
    for index in range(1000):
        throttle.failed([f"10.0.{index // 256}.{index % 256}"])
    assert len(throttle) == 100
    clock.now += 1000
    assert throttle.retry_after(["10.0.3.231"]) == 0
    assert len(throttle) == 99
