"""Turn a claim that matched nothing into the precise error a cashier can act on.

Runs only on the failure path, after the failed transaction rolled back, so the happy
path pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from core.errors import BoxOfficeError
from core.reservation import sql

_SEATS = text(
    """
    select s.id, es.event_id is not null as in_event,
           coalesce(es.status = 'available'
                    or (es.status = 'held' and es.hold_expires_at <= now()), false) as free,
           pt.id is not null as priced
    from seats s
    left join event_seats es on es.seat_id = s.id and es.event_id = :event_id
    left join price_tiers pt on pt.event_id = :event_id and pt.section_id = s.section_id
    where s.id = any(:seat_ids)
    """
).bindparams(bindparam("seat_ids", type_=ARRAY(BigInteger)))

_SECTION = text(
    "select s.kind, s.venue_id = e.venue_id as same_venue from sections s, events e"
    " where s.id = :section_id and e.id = :event_id"
)


def explain_event(conn: Connection, event_id: int, *, section_ids: Sequence[int] | None = None,
                  ga_section_id: int | None = None) -> BoxOfficeError | None:
    ev = conn.execute(sql.EVENT_STATE, {"event_id": event_id}).first()
    if ev is None:
        return BoxOfficeError("unknown_event", event_id=event_id)
    if ev.status == "paused":
        return BoxOfficeError("event_paused")
    if ev.status != "on_sale":
        return BoxOfficeError("sales_closed", reason=ev.status)
    if ev.not_yet:
        return BoxOfficeError("sales_closed", reason="not yet open")
    if ev.ended:
        return BoxOfficeError("sales_closed", reason="sales window ended")
    for sid in ([ga_section_id] if ga_section_id is not None else list(section_ids or [])):
        sec = conn.execute(_SECTION, {"section_id": sid, "event_id": event_id}).first()
        if sec is None or not sec.same_venue:
            return BoxOfficeError("unknown_section", section_id=sid)
        if ga_section_id is not None and sec.kind != "ga":
            return BoxOfficeError("not_general_admission", section_id=sid)
        if ga_section_id is None and sec.kind != "seated":
            return BoxOfficeError("not_seated", section_id=sid)
    return None


def explain_claim_failure(conn: Connection, event_id: int,
                          seat_ids: Sequence[int]) -> BoxOfficeError:
    err = explain_event(conn, event_id)
    if err is not None:
        return err
    rows = {r.id: r for r in conn.execute(_SEATS, {"event_id": event_id,
                                                   "seat_ids": list(seat_ids)})}
    unknown = [s for s in seat_ids if s not in rows]
    if unknown:
        return BoxOfficeError("unknown_seat", seat_ids=unknown)
    foreign = [s for s in seat_ids if not rows[s].in_event]
    if foreign:
        return BoxOfficeError("seat_not_in_event", seat_ids=foreign)
    unpriced = [s for s in seat_ids if not rows[s].priced]
    if unpriced:
        return BoxOfficeError("invalid_input", detail=f"No price tier for seats {unpriced}.")
    taken = [s for s in seat_ids if not rows[s].free]
    # Free now but not when we tried (a hold released meanwhile) still reads as unavailable.
    return BoxOfficeError("seat_unavailable", seat_ids=taken or list(seat_ids))
