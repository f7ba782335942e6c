"""Releasing expired holds: the sweeper, and the inline reclaim the GA path uses."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from core import audit
from core.actors import Actor
from core.context import CoreContext, SeatChange
from core.reservation import sql
from core.uow import after_commit, unit_of_work


def expire_in(conn: Connection, event_id: int | None, batch: int = 500) -> list[tuple]:
    """Expire up to ``batch`` overdue holds inside the caller's transaction.

    Holds another transaction is working on are skipped (SKIP LOCKED); their seats are
    still sellable because every claim treats an expired hold as free.
    Returns (hold_id, event_id, seat_ids, ga) for each expired hold.
    """
    holds = conn.execute(sql.EXPIRED_HOLDS, {"event_id": event_id, "batch": batch}).all()
    done = []
    for h in holds:
        seats = [r[0] for r in conn.execute(sql.LOCK_HOLD_SEATS, {"hold_id": h.id})]
        if seats:
            conn.execute(sql.FREE_SEATS, {"event_id": h.event_id, "seat_ids": seats,
                                          "hold_id": h.id})
        ga = conn.execute(sql.GA_UNHOLD, {"hold_id": h.id}).rowcount
        conn.execute(sql.END_HOLD, {"status": "expired", "hold_id": h.id})
        done.append((h.id, h.event_id, seats, ga))
    return done


def expire_holds(ctx: CoreContext, actor: Actor, event_id: int | None = None) -> int:
    """One sweep: expire overdue holds in batches, each batch its own transaction.
    Safe to run from several workers at once. Returns how many holds were expired."""
    total = 0
    while True:
        with unit_of_work(ctx.engine) as conn:
            done = expire_in(conn, event_id, ctx.settings.holds.sweep_batch)
            if not done:
                return total
            audit.append(conn, actor, "expire_holds", "hold", len(done),
                         {"holds": [str(d[0]) for d in done]})
            for hold_id, ev, seats, _ga in done:
                change = SeatChange(ev, "expired", tuple(seats))
                after_commit(conn, partial(ctx.publish, change))
                del hold_id
        total += len(done)
