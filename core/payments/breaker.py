"""A circuit breaker with Resilience4j's semantics.

Written here on purpose: the PyPI breakers checked (see FIELD-NOTES) either hold one lock
for the whole protected call, serializing every cashier behind a slow gateway (pybreaker),
pin old dependencies (purgatory) or are unmaintained (aiobreaker); and none has a sliding
failure-rate window, slow-call thresholds or a limited number of half-open trial calls.

Semantics (count-based sliding window):
- CLOSED: every finished call is recorded as (failed, slow). Once at least
  ``minimum_calls`` are in the window, a failure rate or slow-call rate at or above its
  threshold opens the circuit.
- OPEN: calls are refused at once (``CircuitOpen``) until ``wait_in_open_s`` has passed;
  the next call then moves the circuit to HALF_OPEN.
- HALF_OPEN: only ``half_open_permits`` trial calls are let through; when all of them
  have finished, their rates decide: below the thresholds -> CLOSED (fresh window),
  else -> OPEN again.
Only gateway failures (5xx, timeouts, transport errors) count as failures; a card decline
is a successful call to a healthy gateway.

The lock guards only the counters: it is never held while the call runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from prometheus_client import Counter, Gauge

from core.payments.gateway import CircuitOpen

State = Literal["closed", "open", "half_open"]
_STATE_VALUE = {"closed": 0, "open": 1, "half_open": 2}

BREAKER_STATE = Gauge("boxoffice_gateway_breaker_state",
                      "Payment gateway circuit: 0 closed, 1 open, 2 half-open", ["breaker"])
BREAKER_TRANSITIONS = Counter("boxoffice_gateway_breaker_transitions_total",
                              "Circuit breaker state changes", ["breaker", "to"])
BREAKER_REJECTED = Counter("boxoffice_gateway_breaker_rejected_total",
                           "Calls refused while the circuit was open", ["breaker"])

Listener = Callable[[str, State, State], Any]


class CircuitBreaker:
    def __init__(self, name: str = "gateway", *, window_size: int = 20, minimum_calls: int = 10,
                 failure_rate_threshold: float = 50.0, slow_call_rate_threshold: float = 100.0,
                 slow_call_duration_s: float = 5.0, wait_in_open_s: float = 30.0,
                 half_open_permits: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.window_size = window_size
        self.minimum_calls = min(minimum_calls, window_size)
        self.failure_rate_threshold = failure_rate_threshold
        self.slow_call_rate_threshold = slow_call_rate_threshold
        self.slow_call_duration_s = slow_call_duration_s
        self.wait_in_open_s = wait_in_open_s
        self.half_open_permits = half_open_permits
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._window: deque[tuple[bool, bool]] = deque(maxlen=window_size)
        self._open_until = 0.0
        self._permits_left = 0
        self._trials: list[tuple[bool, bool]] = []
        self._listeners: list[Listener] = []
        BREAKER_STATE.labels(name).set(0)

    @classmethod
    def from_settings(cls, s: Any, name: str = "gateway",
                      clock: Callable[[], float] = time.monotonic) -> CircuitBreaker:
        return cls(name, window_size=s.window_size, minimum_calls=s.minimum_calls,
                   failure_rate_threshold=s.failure_rate_threshold,
                   slow_call_rate_threshold=s.slow_call_rate_threshold,
                   slow_call_duration_s=s.slow_call_duration_s,
                   wait_in_open_s=s.wait_in_open_s, half_open_permits=s.half_open_permits,
                   clock=clock)

    # -- observation -------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """``fn(name, old_state, new_state)`` runs after each transition (outside the lock)."""
        self._listeners.append(fn)

    @property
    def state(self) -> State:
        with self._lock:
            if self._state == "open" and self._clock() >= self._open_until:
                return "half_open"
            return self._state

    # -- protocol ------------------------------------------------------------------------

    def acquire(self) -> None:
        """Ask to make one call; raises CircuitOpen when refused."""
        changed = None
        with self._lock:
            if self._state == "open":
                if self._clock() < self._open_until:
                    BREAKER_REJECTED.labels(self.name).inc()
                    raise CircuitOpen(self.name)
                changed = self._move("half_open")
            if self._state == "half_open":
                if self._permits_left <= 0:
                    BREAKER_REJECTED.labels(self.name).inc()
                    raise CircuitOpen(self.name)
                self._permits_left -= 1
        self._notify(changed)

    def record(self, duration_s: float, failed: bool) -> None:
        """Report the outcome of a call that ``acquire`` allowed."""
        slow = duration_s >= self.slow_call_duration_s
        changed = None
        with self._lock:
            if self._state == "half_open":
                self._trials.append((failed, slow))
                if len(self._trials) >= self.half_open_permits:
                    changed = self._move("open" if self._over(self._trials) else "closed")
            elif self._state == "closed":
                self._window.append((failed, slow))
                if len(self._window) >= self.minimum_calls and self._over(self._window):
                    changed = self._move("open")
            # A call that finishes after the circuit opened is not counted: the window
            # that opened it has already been judged.
        self._notify(changed)

    def release(self) -> None:
        """A permitted call that was not made (or whose outcome says nothing about the
        gateway's health): give the half-open permit back."""
        with self._lock:
            if self._state == "half_open":
                self._permits_left += 1

    def call(self, fn: Callable[[], Any], is_failure: Callable[[BaseException], bool]) -> Any:
        self.acquire()
        started = self._clock()
        try:
            result = fn()
        except BaseException as exc:
            self.record(self._clock() - started, is_failure(exc))
            raise
        self.record(self._clock() - started, False)
        return result

    def force(self, state: State) -> None:
        """Operator override (and tests): put the circuit in ``state`` now."""
        with self._lock:
            changed = self._move(state) if state != self._state else None
        self._notify(changed)

    # -- internals (lock held) ---------------------------------------------------------

    def _over(self, calls: Any) -> bool:
        n = len(calls)
        if not n:
            return False
        failures = sum(1 for f, _ in calls if f)
        slow = sum(1 for _, s in calls if s)
        return (failures * 100.0 / n >= self.failure_rate_threshold
                or slow * 100.0 / n >= self.slow_call_rate_threshold)

    def _move(self, new: State) -> tuple[State, State]:
        old = self._state
        self._state = new
        if new == "open":
            self._open_until = self._clock() + self.wait_in_open_s
        elif new == "half_open":
            self._permits_left = self.half_open_permits
            self._trials = []
        elif new == "closed":
            self._window.clear()
        BREAKER_STATE.labels(self.name).set(_STATE_VALUE[new])
        BREAKER_TRANSITIONS.labels(self.name, new).inc()
        return old, new

    def _notify(self, changed: tuple[State, State] | None) -> None:
        if changed is None:
            return
        for fn in list(self._listeners):
            try:
                fn(self.name, changed[0], changed[1])
            except Exception:
                import logging

                logging.getLogger(__name__).exception("breaker listener failed")
