"""Turning a live hold into a paid order at the prices quoted when it was taken."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from core import audit
from core.actors import Actor
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.reservation import sql
from core.reservation.holds import lock_hold
from core.reservation.results import OrderLineResult, OrderResult
from core.uow import after_commit, unit_of_work


def confirm_sale(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, hold_id: uuid.UUID | str,
                 payment_ref: str, *, shift_id: uuid.UUID | None = None,
                 customer_name: str | None = None, expected_total_minor: int | None = None,
                 order_id: uuid.UUID | None = None) -> OrderResult:
    """Sell the hold's seats in one transaction. The payment saga calls this after
    authorization; it fails with ``hold_expired`` if the hold lapsed (by the database
    clock) or any of its seats was taken since."""
    key = as_key(key)
    hold_id = as_key(hold_id)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "confirm_sale",
                             {"hold_id": str(hold_id), "payment_ref": payment_ref},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return OrderResult.from_json(done)
        result = confirm_in(conn, actor, hold_id, payment_ref, shift_id=shift_id,
                            customer_name=customer_name, expected_total_minor=expected_total_minor,
                            order_id=order_id)
        finish_command(conn, key, result.to_json())
        change = SeatChange(result.event_id, "sold",
                            tuple(ln.seat_id for ln in result.lines if ln.seat_id is not None))
        after_commit(conn, lambda: ctx.publish(change))
        return result


def confirm_in(conn: Connection, actor: Actor, hold_id: uuid.UUID, payment_ref: str, *,
               shift_id: uuid.UUID | None = None, customer_name: str | None = None,
               expected_total_minor: int | None = None,
               order_id: uuid.UUID | None = None) -> OrderResult:
    """The confirmation inside a caller's transaction (the saga adds its own rows)."""
    h = lock_hold(conn, actor, hold_id)
    if h.status != "active":
        raise BoxOfficeError("hold_not_active", status=h.status)
    if h.expired:
        raise BoxOfficeError("hold_expired")
    if expected_total_minor is not None and expected_total_minor != h.total_minor:
        raise BoxOfficeError("amount_mismatch", amount=expected_total_minor, total=h.total_minor)
    items = conn.execute(sql.HOLD_ITEMS, {"hold_id": hold_id}).all()
    wanted = sorted(i.seat_id for i in items if i.seat_id is not None)
    seats = sorted(r[0] for r in conn.execute(sql.LOCK_HOLD_SEATS, {"hold_id": hold_id}))
    if seats != wanted:
        raise BoxOfficeError("hold_expired")
    order_id = order_id or uuid.uuid4()
    if seats:
        conn.execute(sql.SELL_SEATS, {"order_id": order_id, "event_id": h.event_id,
                                      "seat_ids": seats, "hold_id": hold_id})
    conn.execute(sql.GA_SELL, {"hold_id": hold_id})
    rows = conn.execute(sql.INSERT_ORDER, {
        "order_id": order_id, "event_id": h.event_id, "hold_id": hold_id,
        "terminal_id": actor.terminal_id, "operator_id": actor.operator_id,
        "shift_id": shift_id, "total_minor": h.total_minor, "currency": h.currency,
        "payment_ref": payment_ref, "customer_name": customer_name,
    }).all()
    conn.execute(sql.END_HOLD, {"status": "confirmed", "hold_id": hold_id})
    result = OrderResult(
        order_id=order_id, number=int(rows[0].number), event_id=h.event_id, hold_id=hold_id,
        total_minor=int(h.total_minor), currency=h.currency, payment_ref=payment_ref,
        lines=tuple(OrderLineResult(r.id, r.section_id, r.seat_id, r.qty,
                                    int(r.unit_price_minor), r.tier_id) for r in rows),
    )
    audit.append(conn, actor, "confirm_sale", "order", order_id,
                 {"number": result.number, "hold_id": str(hold_id), "seats": seats,
                  "total_minor": result.total_minor, "currency": result.currency,
                  "payment_ref": payment_ref})
    return result
