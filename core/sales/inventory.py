"""Giving sold places back to the inventory when order lines are refunded or an order
is cancelled (the reservation engine only sells; returns belong to the money side)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from core.context import CoreContext, SeatChange
from core.uow import after_commit

_MARK_LINES = text(
    """
    update order_lines set status = 'refunded'
    where order_id = :order_id and status = 'sold'
      and (cast(:line_ids as bigint[]) is null or id = any(:line_ids))
    returning id, event_id, section_id, seat_id, qty, unit_price_minor
    """
).bindparams(bindparam("line_ids", type_=ARRAY(BigInteger)))
# Only seats still sold to this order go back: a seat is never taken from someone else.
_FREE_SEATS = text(
    """
    update event_seats set status = 'available', order_id = null, version = version + 1
    where event_id = :event_id and seat_id = any(:seat_ids) and order_id = :order_id
      and status = 'sold'
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))
_FREE_GA = text(
    "update ga_inventory set sold = sold - :qty, version = version + 1"
    " where event_id = :event_id and section_id = :section_id"
)


@dataclass(frozen=True, slots=True)
class Returned:
    line_ids: tuple[int, ...]
    amount_minor: int
    event_id: int | None
    seat_ids: tuple[int, ...]


def return_lines_in(conn: Connection, ctx: CoreContext, order_id: uuid.UUID,
                    line_ids: list[int] | None) -> Returned:
    """Mark the lines refunded (all still sold ones when ``line_ids`` is None) and put
    their places back on sale, inside the caller's transaction."""
    rows = conn.execute(_MARK_LINES, {"order_id": order_id, "line_ids": line_ids}).all()
    if not rows:
        return Returned((), 0, None, ())
    event_id = rows[0].event_id
    seats = sorted(r.seat_id for r in rows if r.seat_id is not None)
    if seats:
        conn.execute(_FREE_SEATS, {"event_id": event_id, "seat_ids": seats,
                                   "order_id": order_id})
    ga: dict[int, int] = {}
    for r in rows:
        if r.seat_id is None:
            ga[r.section_id] = ga.get(r.section_id, 0) + r.qty
    for section_id, qty in ga.items():
        conn.execute(_FREE_GA, {"qty": qty, "event_id": event_id, "section_id": section_id})
    change = SeatChange(event_id, "released", tuple(seats), next(iter(ga), None))
    after_commit(conn, lambda: ctx.publish(change))
    return Returned(tuple(r.id for r in rows), sum(r.qty * int(r.unit_price_minor) for r in rows),
                    event_id, tuple(seats))
