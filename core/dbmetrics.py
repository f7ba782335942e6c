"""Metrics the worker reads from the database, for the whole site at once: today's sales
and refunds by channel and tender, active holds, each terminal's heartbeat age, the
oversell detector, stuck sales, and replication (standbys and their lag) as the worker
sees it. Terminals export their own process metrics (breaker, journal, printer); these
are the ones only the central database knows.

``refresh`` runs as a worker job (core.worker.JOBS) at most every ``REFRESH_S``; each query
has a short statement timeout, and a failed refresh sets ``boxoffice_db_metrics_up`` to 0
and leaves the last values (stale data, not a dead worker).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import Connection, text

from core.context import CoreContext
from core.uow import autocommit

log = logging.getLogger(__name__)

REFRESH_S = 15.0
QUERY_TIMEOUT_MS = 3000
SYNC_STATES = ("sync", "potential", "quorum", "async")

UP = Gauge("boxoffice_db_metrics_up",
           "1 when the worker's last read of the database metrics succeeded")
REFRESHED = Gauge("boxoffice_db_metrics_refreshed_timestamp_seconds",
                  "When the worker last read the database metrics (unix time)")
SALES_TODAY = Gauge("boxoffice_sales_today",
                    "Completed sales since midnight (database clock, UTC)",
                    ["channel", "tender"])
SALES_AMOUNT_TODAY = Gauge("boxoffice_sales_amount_today_minor",
                           "Amount of completed sales since midnight, minor units",
                           ["channel", "tender", "currency"])
REFUNDS_TODAY = Gauge("boxoffice_refunds_today", "Refunds since midnight, by method and"
                      " status", ["method", "status"])
HOLDS_ACTIVE = Gauge("boxoffice_holds_active", "Holds active now (not expired)")
STUCK_SALES = Gauge("boxoffice_sales_stuck", "Sales in a non-final state for over a minute"
                    " (the recovery sweeper finishes them)")
OVERSOLD = Gauge("boxoffice_oversold_seats", "Seats of current events sold in more than one"
                 " order line (must always be 0)")
HEARTBEAT_AGE = Gauge("boxoffice_terminal_heartbeat_age_seconds",
                      "Seconds since each terminal's last heartbeat", ["terminal", "kind"])
STANDBYS = Gauge("boxoffice_replication_standbys",
                 "Standbys streaming from the primary, by sync state", ["sync_state"])
REPLICATION_LAG = Gauge("boxoffice_replication_lag_seconds",
                        "Replay lag of each standby as the primary reports it", ["standby"])
IS_STANDBY = Gauge("boxoffice_db_in_recovery",
                   "1 when the worker's database connection is to a standby")

_lock = threading.Lock()
_last = 0.0

_SALES = text(
    "select channel, tender, currency, count(*) as n, coalesce(sum(amount_minor), 0) as amount"
    " from sales where state = 'completed' and created_at >= date_trunc('day', now())"
    " group by 1, 2, 3")
_REFUNDS = text(
    "select method, status, count(*) as n from refunds"
    " where created_at >= date_trunc('day', now()) group by 1, 2")
_HOLDS = text("select count(*) from holds where status = 'active' and expires_at > now()")
_STUCK = text(
    "select count(*) from sales where state not in ('completed', 'declined', 'voided',"
    " 'reversed', 'failed') and updated_at < now() - interval '1 minute'")
_OVERSOLD = text(
    "select count(*) from (select ol.event_id, ol.seat_id from order_lines ol"
    " join events e on e.id = ol.event_id"
    " where ol.status = 'sold' and ol.seat_id is not null"
    " and e.starts_at > now() - interval '1 day'"
    " group by 1, 2 having count(*) > 1) x")
_HEARTBEATS = text(
    "select name, kind, extract(epoch from now() - last_heartbeat) as age from terminals"
    " where last_heartbeat is not null")
_RECOVERY = text("select pg_is_in_recovery()")
_REPLICATION = text(
    "select application_name, sync_state, extract(epoch from coalesce(replay_lag,"
    " interval '0')) as lag from pg_stat_replication")
_REPLAY_DELAY = text(
    "select case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0 else"
    " extract(epoch from now() - pg_last_xact_replay_timestamp()) end")


def refresh(ctx: CoreContext, *, force: bool = False) -> bool:
    """Read the metrics if ``REFRESH_S`` passed since the last read; True if it read."""
    global _last
    with _lock:
        if not force and time.monotonic() - _last < REFRESH_S:
            return False
        _last = time.monotonic()
    try:
        with autocommit(ctx.engine) as conn:
            conn.execute(text(f"set statement_timeout = {QUERY_TIMEOUT_MS}"))
            try:
                _read(conn)
            finally:
                conn.execute(text("reset statement_timeout"))
    except Exception as exc:  # a metrics read must never stop the worker's real jobs
        UP.set(0)
        log.warning("database metrics not read: %s", exc)
        return True
    UP.set(1)
    REFRESHED.set(time.time())
    return True


def _read(conn: Connection) -> None:
    SALES_TODAY.clear()
    SALES_AMOUNT_TODAY.clear()
    for r in conn.execute(_SALES):
        SALES_TODAY.labels(r.channel, r.tender).inc(r.n)
        SALES_AMOUNT_TODAY.labels(r.channel, r.tender, r.currency).set(r.amount)
    REFUNDS_TODAY.clear()
    for r in conn.execute(_REFUNDS):
        REFUNDS_TODAY.labels(r.method, r.status).set(r.n)
    HOLDS_ACTIVE.set(conn.execute(_HOLDS).scalar_one())
    STUCK_SALES.set(conn.execute(_STUCK).scalar_one())
    OVERSOLD.set(conn.execute(_OVERSOLD).scalar_one())
    HEARTBEAT_AGE.clear()
    for r in conn.execute(_HEARTBEATS):
        HEARTBEAT_AGE.labels(r.name, r.kind).set(max(0.0, float(r.age)))
    _replication(conn)


def _replication(conn: Connection) -> None:
    in_recovery = bool(conn.execute(_RECOVERY).scalar_one())
    IS_STANDBY.set(1 if in_recovery else 0)
    REPLICATION_LAG.clear()
    counts: dict[str, int] = dict.fromkeys(SYNC_STATES, 0)
    if in_recovery:
        # Connected to a standby (a prefer-standby URL): its own replay delay.
        delay: Any = conn.execute(_REPLAY_DELAY).scalar_one()
        REPLICATION_LAG.labels("self").set(float(delay or 0))
    else:
        # Without pg_monitor (or superuser) the rows are there but the lag is hidden.
        for r in conn.execute(_REPLICATION):
            counts[r.sync_state] = counts.get(r.sync_state, 0) + 1
            REPLICATION_LAG.labels(r.application_name or "?").set(float(r.lag or 0))
    for state, n in counts.items():
        STANDBYS.labels(state).set(n)
