"""What a printer needs to know about tickets, print counting and authorized reprints."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from core import audit
from core.actors import Actor, OperatorInfo, record_approval_row
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.tickets.issue import format_serial
from core.uow import unit_of_work


@dataclass(frozen=True, slots=True)
class TicketView:
    """Plain data for printing one ticket (no database objects)."""

    serial: int
    token: str
    status: str
    print_count: int
    reprint_count: int
    order_id: uuid.UUID
    order_number: int
    event_id: int
    event_code: str
    event_name: str
    venue_name: str
    timezone: str
    starts_at: datetime
    doors_at: datetime | None
    section_code: str
    section_name: str
    row_label: str | None
    seat_number: int | None
    unit: int
    unit_price_minor: int
    currency: str
    tier_name: str
    terminal_name: str
    operator_name: str | None
    issued_at: datetime

    @property
    def serial_text(self) -> str:
        return format_serial(self.serial)

    @property
    def seated(self) -> bool:
        return self.seat_number is not None


_VIEWS = text(
    """
    select t.serial, t.token, t.status, t.print_count, t.reprint_count, t.order_id,
           o.number as order_number, t.event_id, e.code as event_code, e.name as event_name,
           v.name as venue_name, v.timezone, e.starts_at, e.doors_at,
           s.code as section_code, s.name as section_name, st.row_label,
           st.number as seat_number, t.unit, t.unit_price_minor, t.currency,
           pt.name as tier_name, tm.name as terminal_name, op.display_name as operator_name,
           t.issued_at
    from tickets t
    join orders o on o.id = t.order_id
    join events e on e.id = t.event_id
    join venues v on v.id = e.venue_id
    join sections s on s.id = t.section_id
    join price_tiers pt on pt.id = t.tier_id
    join terminals tm on tm.id = t.terminal_id
    left join seats st on st.id = t.seat_id
    left join operators op on op.id = t.operator_id
    where (cast(:order_id as uuid) is null or t.order_id = cast(:order_id as uuid))
      and (cast(:serials as bigint[]) is null or t.serial = any(cast(:serials as bigint[])))
    order by t.line_id, t.unit
    """
).bindparams(bindparam("serials", type_=ARRAY(BigInteger)))


def _view(r: Row[Any]) -> TicketView:
    return TicketView(**{k: r._mapping[k] for k in TicketView.__dataclass_fields__})


def ticket_views_in(conn: Connection, *, order_id: uuid.UUID | None = None,
                    serials: Sequence[int] | None = None) -> list[TicketView]:
    if order_id is None and serials is None:
        raise ValueError("order_id or serials is required")
    rows = conn.execute(_VIEWS, {"order_id": order_id,
                                 "serials": list(serials) if serials is not None else None})
    return [_view(r) for r in rows]


def ticket_views(engine: Engine, *, order_id: uuid.UUID | None = None,
                 serials: Sequence[int] | None = None) -> list[TicketView]:
    """The printable data of an order's tickets (or of the given serials)."""
    with engine.connect() as conn:
        return ticket_views_in(conn, order_id=order_id, serials=serials)


_PRINTED = text(
    "update tickets set print_count = print_count + 1 where serial = any(:serials)"
).bindparams(bindparam("serials", type_=ARRAY(BigInteger)))


def record_printed(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                   serials: Sequence[int]) -> int:
    """Count one more paper copy of each ticket (the spooler calls this after a job
    reached the printer; the key makes a re-report after a crash count once)."""
    key = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "record_printed", {"serials": sorted(serials)},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return int(done["count"])
        n = conn.execute(_PRINTED, {"serials": list(serials)}).rowcount
        finish_command(conn, key, {"count": n})
        return n


_LOCK_TICKET = text(
    "select id, status, reprint_count, print_count from tickets where serial = :serial"
    " for update"
)


def authorize_reprint(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, serial: int, *,
                      supervisor: OperatorInfo | None = None,
                      reason: str = "") -> TicketView:
    """Allow one DUPLICATE copy of a valid ticket. The first duplicate is the cashier's
    call; from the second on a supervisor (or admin) must have signed in and approve.
    Counted on the ticket and audited; returns the ticket with the new count."""
    key = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "authorize_reprint", {"serial": serial},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return ticket_views_in(conn, serials=[serial])[0]
        row = conn.execute(_LOCK_TICKET, {"serial": serial}).first()
        if row is None:
            raise BoxOfficeError("unknown_ticket", serial=serial)
        if row.status != "valid":
            raise BoxOfficeError("ticket_not_printable", serial=serial, status=row.status)
        if row.reprint_count >= 1 and (supervisor is None
                                       or supervisor.role not in ("supervisor", "admin")):
            raise BoxOfficeError("supervisor_required", serial=serial, count=row.reprint_count)
        if row.reprint_count >= 1 and supervisor is not None:
            # The database checks the supervisor (a PIN typed on this login, not the
            # cashier asking): an OperatorInfo built by the caller approves nothing.
            record_approval_row(conn, actor, supervisor, "reprint", "reprint", "ticket",
                                serial, None, requested_by=actor.operator_id)
        conn.execute(text("update tickets set reprint_count = reprint_count + 1 where id = :i"),
                     {"i": row.id})
        audit.append(conn, actor, "reprint_ticket", "ticket", serial,
                     {"reprint": row.reprint_count + 1, "reason": reason,
                      "supervisor": supervisor.login if supervisor else None})
        finish_command(conn, key, {"serial": serial})
        return ticket_views_in(conn, serials=[serial])[0]


@dataclass(frozen=True, slots=True)
class PaymentSummary:
    """How an order was paid, for its receipt (from the sale saga's record)."""

    tender: str  # cash | card
    brand: str | None
    last4: str | None
    tendered_minor: int | None
    change_minor: int | None
    reference: str | None


def payment_summary(engine: Engine, order_id: uuid.UUID) -> PaymentSummary | None:
    with engine.connect() as conn:
        row = conn.execute(text(
            "select tender, brand, last4, tendered_minor, change_minor, intent_id from sales"
            " where order_id = :o order by created_at desc limit 1"), {"o": order_id}).first()
    if row is None:
        return None
    return PaymentSummary(row.tender, row.brand, row.last4, row.tendered_minor,
                          row.change_minor, row.intent_id)


def find_order_id(engine: Engine, query: str) -> uuid.UUID | None:
    """The order a scanned ticket code or a typed serial belongs to (for order search)."""
    from core.tickets.token import TokenError, parse

    q = query.strip()
    try:
        serial = parse(q).claims.serial
    except TokenError:
        digits = q.replace(" ", "")
        if not digits.isdigit() or len(digits) > 15:
            return None
        serial = int(digits)
    with engine.connect() as conn:
        return conn.execute(text("select order_id from tickets where serial = :s"),
                            {"s": serial}).scalar()
