"""The circuit breaker: unit behaviour with a controlled clock, and through the real
adapter against the sandbox (5xx opens it, declines never do)."""

from __future__ import annotations

import threading
import uuid

import pytest

from core.errors import BoxOfficeError
from core.payments import CircuitBreaker, CircuitOpen, StripeGateway


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _breaker(clock: Clock, **kw: object) -> CircuitBreaker:
    opts = {"window_size": 10, "minimum_calls": 5, "failure_rate_threshold": 50.0,
            "slow_call_rate_threshold": 100.0, "slow_call_duration_s": 1.0,
            "wait_in_open_s": 30.0, "half_open_permits": 2, **kw}
    return CircuitBreaker("t", clock=clock, **opts)  # type: ignore[arg-type]


def _call(b: CircuitBreaker, failed: bool, duration: float = 0.0) -> None:
    b.acquire()
    b.record(duration, failed)


def test_opens_on_failure_rate_only_after_minimum_calls():
    b = _breaker(Clock())
    for _ in range(4):
        _call(b, True)
    assert b.state == "closed"  # 4 failures < minimum_calls 5
    _call(b, True)
    assert b.state == "open"


def test_failure_rate_below_threshold_stays_closed():
    b = _breaker(Clock())
    for i in range(10):
        _call(b, i % 3 == 0)  # 4 of 10 failed: 40% < 50%
    assert b.state == "closed"


def test_opens_on_slow_calls():
    b = _breaker(Clock(), slow_call_rate_threshold=60.0)
    for _ in range(5):
        _call(b, False, duration=2.0)
    assert b.state == "open"


def test_open_fails_fast_then_half_open_limits_permits_and_closes():
    clock = Clock()
    seen: list[tuple[str, str]] = []
    b = _breaker(clock)
    b.add_listener(lambda name, old, new: seen.append((old, new)))
    for _ in range(5):
        _call(b, True)
    with pytest.raises(CircuitOpen) as e:
        b.acquire()
    assert e.value.code == "gateway_unavailable"
    clock.t += 30
    b.acquire()
    b.acquire()
    with pytest.raises(CircuitOpen):
        b.acquire()  # only 2 trial calls
    b.record(0.0, False)
    b.record(0.0, False)
    assert b.state == "closed"
    assert seen == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_half_open_failure_reopens():
    clock = Clock()
    b = _breaker(clock)
    for _ in range(5):
        _call(b, True)
    clock.t += 30
    _call(b, True)
    _call(b, False)
    assert b.state == "open"


def test_state_metric_follows_transitions():
    from prometheus_client import REGISTRY

    b = CircuitBreaker("metric-test", window_size=2, minimum_calls=2, wait_in_open_s=60)
    _call(b, True)
    _call(b, True)
    assert REGISTRY.get_sample_value("boxoffice_gateway_breaker_state",
                                     {"breaker": "metric-test"}) == 1.0


def test_no_lock_is_held_during_the_call():
    """Two threads are inside protected calls at the same time."""
    b = CircuitBreaker("concurrent")
    inside = threading.Barrier(2, timeout=5)

    def work() -> None:
        b.call(inside.wait, lambda e: True)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not inside.broken


def _gateway(sandbox, **kw) -> StripeGateway:
    b = CircuitBreaker("sandbox-breaker", window_size=10, minimum_calls=4,
                       failure_rate_threshold=50, wait_in_open_s=60, half_open_permits=1)
    return StripeGateway(sandbox.base_url, "sk_test_x", read_timeout_s=0.3, breaker=b,
                         retry_attempts=1, **kw)


def test_declines_never_trip_the_breaker(sandbox):
    g = _gateway(sandbox)
    for _ in range(12):
        with pytest.raises(BoxOfficeError) as e:
            g.authorize(100, "BRL", "pm_card_chargeDeclined", idempotency_key=str(uuid.uuid4()))
        assert e.value.code == "card_declined"
    assert g.breaker_state() == "closed"
    g.close()


def test_server_errors_open_it_and_it_fails_fast(sandbox):
    g = _gateway(sandbox)
    sandbox.set_faults(error_rate=1.0)
    for _ in range(4):
        with pytest.raises(BoxOfficeError) as e:
            g.authorize(100, "BRL", "pm_card_visa", idempotency_key=str(uuid.uuid4()))
        assert e.value.code == "gateway_unavailable"
    assert g.breaker_state() == "open"
    before = sandbox.ledger()["stats"]["requests"]
    with pytest.raises(CircuitOpen):
        g.authorize(100, "BRL", "pm_card_visa", idempotency_key=str(uuid.uuid4()))
    assert sandbox.ledger()["stats"]["requests"] == before  # nothing was sent
    g.breaker.force("half_open")
    sandbox.set_faults(error_rate=0.0)
    g.authorize(100, "BRL", "pm_card_visa", idempotency_key=str(uuid.uuid4()))
    assert g.breaker_state() == "closed"
    g.close()


def test_timeouts_count_as_failures(sandbox):
    g = _gateway(sandbox)
    sandbox.set_faults(timeout_rate=1.0, hang_s=0.5)
    for _ in range(4):
        with pytest.raises(BoxOfficeError) as e:
            g.authorize(100, "BRL", "pm_card_visa", idempotency_key=str(uuid.uuid4()))
        assert e.value.code == "gateway_timeout"
    assert g.breaker_state() == "open"
    g.close()


def test_slow_answers_open_it(sandbox):
    b = CircuitBreaker("slow-breaker", window_size=4, minimum_calls=4,
                       slow_call_rate_threshold=75, slow_call_duration_s=0.05,
                       wait_in_open_s=60)
    g = StripeGateway(sandbox.base_url, "sk_test_x", read_timeout_s=2, breaker=b,
                      retry_attempts=1)
    sandbox.set_faults(latency_ms=80)
    for _ in range(4):
        g.authorize(100, "BRL", "pm_card_visa", idempotency_key=str(uuid.uuid4()))
    assert g.breaker_state() == "open"  # every call succeeded, but slowly
    g.close()
