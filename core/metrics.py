"""Prometheus metrics for the reservation core, and the loopback endpoint that serves every
registered metric of the process (breaker, gateway, spooler, sync register their own)."""

from __future__ import annotations

import logging

from prometheus_client import Counter, start_http_server

from core.context import SeatChange

log = logging.getLogger(__name__)

SEAT_CHANGES = Counter("boxoffice_seat_changes_total", "Seat changes committed, by kind",
                       ["kind"])
SEATS_CHANGED = Counter("boxoffice_seats_changed_total", "Seats whose state changed, by kind",
                        ["kind"])

_served: set[int] = set()


def count_change(change: SeatChange) -> None:
    """A CoreContext listener."""
    SEAT_CHANGES.labels(change.kind).inc()
    SEATS_CHANGED.labels(change.kind).inc(len(change.seat_ids))


def serve(port: int | None) -> bool:
    """Serve /metrics on 127.0.0.1:port (never on a public interface); idempotent."""
    if not port or port in _served:
        return bool(port)
    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        log.warning("metrics port %s unavailable: %s", port, exc)
        return False
    _served.add(port)
    return True
