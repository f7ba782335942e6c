"""Turning a live hold into a paid order at the prices quoted when it was taken."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, raise_refusal
from core.context import CoreContext, SeatChange
from core.idempotency import as_key, begin_command, finish_command
from core.reservation.results import OrderLineResult, OrderResult
from core.uow import after_commit, unit_of_work

_CONFIRM = text(
    "select * from bo_confirm_sale(:hold_id, :order_id, :terminal_id, :operator_id,"
    " :payment_ref, :sale_id, :shift_id, :customer_name, :expected, :any_hold)"
)


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
               order_id: uuid.UUID | None = None,
               sale_id: uuid.UUID | None = None) -> OrderResult:
    """The confirmation inside a caller's transaction (the saga adds its own rows). The
    database's ``bo_confirm_sale`` does it (migration 0008): it checks the hold is this
    terminal's and live by its clock, the amounts are the hold's quoted prices, and
    ``sale_id``'s payment was recorded (a card authorization in an earlier transaction,
    cash at a counter with an open shift); a terminal login cannot sell without it."""
    order_id = order_id or uuid.uuid4()
    try:
        rows = conn.execute(_CONFIRM, {
            "hold_id": hold_id, "order_id": order_id, "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "payment_ref": payment_ref, "sale_id": sale_id,
            "shift_id": shift_id, "customer_name": customer_name,
            "expected": expected_total_minor,
            # As before: a supervisor or the system may finish another terminal's hold
            # (honoured by the database for the owner's login only).
            "any_hold": actor.channel == "system" or actor.role in ("supervisor", "admin"),
        }).all()
    except DBAPIError as exc:
        raise_refusal(exc)
    first = rows[0]
    result = OrderResult(
        order_id=order_id, number=int(first.number), event_id=first.event_id, hold_id=hold_id,
        total_minor=int(first.total_minor), currency=first.currency, payment_ref=payment_ref,
        lines=tuple(OrderLineResult(r.line_id, r.section_id, r.seat_id, r.qty,
                                    int(r.unit_price_minor), r.tier_id) for r in rows),
    )
    seats = sorted(ln.seat_id for ln in result.lines if ln.seat_id is not None)
    audit.append(conn, actor, "confirm_sale", "order", order_id,
                 {"number": result.number, "hold_id": str(hold_id), "seats": seats,
                  "total_minor": result.total_minor, "currency": result.currency,
                  "payment_ref": payment_ref})
    return result
