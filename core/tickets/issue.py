"""Issuing tickets for a paid order and voiding them on refunds, both inside the
caller's transaction (the sale saga commits tickets together with the order)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import BigInteger

from core import audit
from core.actors import Actor, raise_refusal
from core.reservation.results import OrderResult
from core.tickets.keys import TicketSigner, ensure_key_row
from core.tickets.token import KIND_GA, KIND_SEAT, VERSION, TicketClaims, encode


def format_serial(serial: int) -> str:
    """How a serial is printed and read out: groups of three digits."""
    s = f"{serial:09d}"
    return " ".join(s[max(0, i - 3):i] for i in range(len(s), 0, -3)[::-1])


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket_id: int
    serial: int
    token: str
    order_id: uuid.UUID
    line_id: int
    unit: int
    event_id: int
    section_id: int
    seat_id: int | None
    unit_price_minor: int
    currency: str
    tier_id: int
    key_id: str
    status: str
    print_count: int
    issued_at: datetime

    @property
    def serial_text(self) -> str:
        return format_serial(self.serial)


_EXISTING = text(
    "select id, serial, token, order_id, line_id, unit, event_id, section_id, seat_id,"
    " unit_price_minor, currency, tier_id, key_id, status, print_count, issued_at"
    " from tickets where order_id = :order_id order by line_id, unit"
)
_CLOCK_AND_SERIALS = text(
    "select floor(extract(epoch from now()))::bigint as now_s, now() as now_ts,"
    " nextval('ticket_serial_seq') as serial from generate_series(1, :n)"
)
# The database writes the rows (migration 0008, bo_issue_tickets): only for a paid order
# of this terminal without tickets, one per unit, with this terminal's live key; every
# field but the signed token comes from the order's lines.
_INSERT = text(
    "select bo_issue_tickets(:order_id, :terminal_id, :operator_id, :key_id,"
    " cast(:lines as bigint[]), cast(:units as integer[]), cast(:serials as bigint[]),"
    " cast(:tokens as text[]))"
)


def _row_to_issued(r: Row[Any]) -> IssuedTicket:
    return IssuedTicket(
        ticket_id=r.id, serial=r.serial, token=r.token, order_id=r.order_id,
        line_id=r.line_id, unit=r.unit, event_id=r.event_id, section_id=r.section_id,
        seat_id=r.seat_id, unit_price_minor=int(r.unit_price_minor), currency=r.currency,
        tier_id=r.tier_id, key_id=r.key_id, status=r.status, print_count=r.print_count,
        issued_at=r.issued_at,
    )


def issue_tickets_in(conn: Connection, actor: Actor, order: OrderResult,
                     signer: TicketSigner) -> list[IssuedTicket]:
    """One signed ticket per seat and per GA unit of ``order``, inside the caller's
    transaction. Calling it again for the same order returns the tickets already issued."""
    existing = conn.execute(_EXISTING, {"order_id": order.order_id}).all()
    if existing:
        return [_row_to_issued(r) for r in existing]
    units = [(ln, u) for ln in order.lines for u in range(1, ln.qty + 1)]
    if not units:
        return []
    ensure_key_row(conn, signer, signer.terminal_id or actor.terminal_id)
    clock = conn.execute(_CLOCK_AND_SERIALS, {"n": len(units)}).all()
    now_s, now_ts = int(clock[0].now_s), clock[0].now_ts
    rows = []
    for (ln, unit), c in zip(units, clock, strict=True):
        seated = ln.seat_id is not None
        claims = TicketClaims(
            version=VERSION, key_id=signer.key_id, serial=int(c.serial),
            event_id=order.event_id, issued_at=now_s,
            kind=KIND_SEAT if seated else KIND_GA,
            place_id=ln.seat_id if ln.seat_id is not None else ln.section_id,
            unit=0 if seated else unit,
        )
        payload = claims.pack()
        rows.append({
            "serial": claims.serial, "order_id": order.order_id, "line_id": ln.line_id,
            "unit": unit, "event_id": order.event_id, "section_id": ln.section_id,
            "seat_id": ln.seat_id, "unit_price_minor": ln.unit_price_minor,
            "currency": order.currency, "tier_id": ln.tier_id, "key_id": signer.key_id,
            "token": encode(payload, signer.sign(payload)), "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "issued_at": now_ts,
        })
    try:
        conn.execute(_INSERT, {
            "order_id": order.order_id, "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "key_id": signer.key_id,
            "lines": [r["line_id"] for r in rows], "units": [r["unit"] for r in rows],
            "serials": [r["serial"] for r in rows], "tokens": [r["token"] for r in rows]})
    except DBAPIError as exc:
        raise_refusal(exc)
    audit.append(conn, actor, "issue_tickets", "order", order.order_id,
                 {"serials": [r["serial"] for r in rows], "key_id": signer.key_id})
    return [_row_to_issued(r) for r in conn.execute(_EXISTING, {"order_id": order.order_id})]


def sign_places(signer: TicketSigner, now_s: int,
                places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sign one token per place of a hold (the places, serials and clock come from the
    database before the confirm, so the confirm and the issue are one call): each place
    with its ``token`` added."""
    out = []
    for p in places:
        seated = p["seat_id"] is not None
        claims = TicketClaims(
            version=VERSION, key_id=signer.key_id, serial=int(p["serial"]),
            event_id=int(p["event_id"]), issued_at=now_s,
            kind=KIND_SEAT if seated else KIND_GA,
            place_id=int(p["seat_id"]) if seated else int(p["section_id"]),
            unit=0 if seated else int(p["unit"]),
        )
        payload = claims.pack()
        out.append({**p, "token": encode(payload, signer.sign(payload))})
    return out


_VOID = text(
    """
    with v as (
        update tickets set status = 'void', voided_at = now(), void_reason = :reason
        where order_id = :order_id and status <> 'void'
          and (cast(:line_ids as bigint[]) is null or line_id = any(cast(:line_ids as bigint[])))
        returning id, serial, event_id
    ), r as (
        insert into revocations (serial, ticket_id, event_id, reason, terminal_id)
        select serial, id, event_id, :reason, :terminal_id from v
        on conflict (serial) do nothing
    )
    select serial from v order by serial
    """
).bindparams(bindparam("line_ids", type_=ARRAY(BigInteger)))


def void_tickets_in(conn: Connection, actor: Actor, order_id: uuid.UUID,
                    line_ids: list[int] | None, reason: str) -> int:
    """Void the order's tickets (all, or those of ``line_ids``) and add them to the
    revocation list, inside the caller's transaction; return how many were voided.
    Already-void tickets are left alone, so a repeat voids nothing more."""
    serials = [r.serial for r in conn.execute(_VOID, {
        "order_id": order_id, "line_ids": list(line_ids) if line_ids is not None else None,
        "reason": reason[:200], "terminal_id": actor.terminal_id})]
    if serials:
        audit.append(conn, actor, "void_tickets", "order", order_id,
                     {"serials": serials, "reason": reason, "line_ids": line_ids})
    return len(serials)


def utc_from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
