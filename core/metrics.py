"""Prometheus metrics for the reservation core, and the loopback endpoint that serves every
registered metric of the process (breaker, gateway, spooler, sync register their own)."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram, start_http_server
from sqlalchemy import Engine, ExceptionContext, event

from core.context import SeatChange

log = logging.getLogger(__name__)

SEAT_CHANGES = Counter("boxoffice_seat_changes_total", "Seat changes committed, by kind",
                       ["kind"])
SEATS_CHANGED = Counter("boxoffice_seats_changed_total", "Seats whose state changed, by kind",
                        ["kind"])

# Every statement the core runs, timed on the client (round trip included), and every
# database error by SQLSTATE (55P03: lock timeout, 40P01: deadlock, "connection": the
# server was not reached). Installed on each context's engine by build_context.
STATEMENT_SECONDS = Histogram(
    "boxoffice_db_statement_seconds", "Database statement latency seen by the client",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15))
DB_ERRORS = Counter("boxoffice_db_errors_total", "Database errors by SQLSTATE", ["sqlstate"])

_served: set[int] = set()
_T0 = "boxoffice_t0"


def instrument(engine: Engine) -> None:
    """Time every statement and count errors on ``engine`` (a few microseconds a call)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        conn.info[_T0] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        t0 = conn.info.pop(_T0, None)
        if t0 is not None:
            STATEMENT_SECONDS.observe(time.perf_counter() - t0)

    @event.listens_for(engine, "handle_error")
    def _error(ctx: ExceptionContext) -> None:
        state = getattr(ctx.original_exception, "sqlstate", None)
        DB_ERRORS.labels(state or ("connection" if ctx.is_disconnect else "other")).inc()


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
