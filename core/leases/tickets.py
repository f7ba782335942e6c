"""Where leased (offline) sales meet the ticket service (core.tickets).

An offline terminal signs each ticket with its own Ed25519 key and a serial from the
block reserved with its lease, and prints it at once. The replayed sale records exactly
those tokens centrally (after checking signature, serial and place), so the printed
ticket and the central one are the same; a later decline voids them through the
revocation list like any refund.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from core.actors import Actor
from core.errors import BoxOfficeError
from core.leases.results import LeasedSale
from core.reservation.results import OrderResult
from core.tickets import parse, void_tickets_in
from core.tickets.keys import public_key_from_raw
from core.tickets.token import KIND_GA, KIND_SEAT, TokenError

# Registered keys never change (a new key gets a new id): cache them per process.
_key_cache: dict[tuple[str, int], Any] = {}
_KEY = text("select public_key from ticket_keys where key_id = :kid and terminal_id = :tid")
_SERIALS_FREE = text(
    "select cast(:serials as bigint[]) <@ l.serials as reserved,"
    " not exists (select 1 from tickets t"
    "             where t.serial = any(cast(:serials as bigint[]))) as unused"
    " from leases l where l.id = :lease_id"
)
_INSERT = text(
    "insert into tickets (serial, order_id, line_id, unit, event_id, section_id, seat_id,"
    " unit_price_minor, currency, tier_id, key_id, token, terminal_id, operator_id, status,"
    " print_count, reprint_count, issued_at) values (:serial, :order_id, :line_id, :unit,"
    " :event_id, :section_id, :seat_id, :unit_price_minor, :currency, :tier_id, :key_id,"
    " :token, :terminal_id, :operator_id, 'valid', :printed, 0, :issued_at)"
)


def _bad(detail: str) -> BoxOfficeError:
    return BoxOfficeError("invalid_input", detail=f"offline ticket rejected: {detail}")


def record_offline_tickets(conn: Connection, actor: Actor, order: OrderResult,
                           sale: LeasedSale) -> list[int]:
    """Record the tickets the terminal signed and printed offline; returns their serials
    (the sale's audit entry names them)."""
    if not sale.tickets:
        return []
    keys: dict[str, Any] = {}
    slots: dict[tuple[int | None, int], Any] = {}
    for ln in order.lines:
        for u in range(1, ln.qty + 1):
            slots[(ln.seat_id, u if ln.seat_id is None else 1)] = ln
    if len(sale.tickets) != len(slots):
        raise _bad(f"{len(sale.tickets)} tickets for {len(slots)} places")
    rows = []
    for t in sale.tickets:
        try:
            parsed = parse(t["token"])
        except TokenError as exc:
            raise _bad(exc.detail) from None
        c = parsed.claims
        if c.key_id not in keys:
            cached = _key_cache.get((c.key_id, actor.terminal_id))
            if cached is None:
                row = conn.execute(_KEY, {"kid": c.key_id, "tid": actor.terminal_id}).first()
                if row is None:
                    raise _bad(f"key {c.key_id} is not this terminal's")
                cached = _key_cache[(c.key_id, actor.terminal_id)] = public_key_from_raw(
                    row.public_key)
            keys[c.key_id] = cached
        if not parsed.verify(keys[c.key_id]):
            raise _bad(f"bad signature on serial {c.serial}")
        seat = c.place_id if c.kind == KIND_SEAT else None
        ln = slots.pop((seat, 1 if seat is not None else c.unit), None)
        if c.event_id != order.event_id or ln is None or (
                c.kind == KIND_GA and c.place_id != ln.section_id):
            raise _bad(f"serial {c.serial} names a place outside the order")
        rows.append({
            "serial": c.serial, "order_id": order.order_id, "line_id": ln.line_id,
            "unit": 1 if seat is not None else c.unit, "event_id": order.event_id,
            "section_id": ln.section_id, "seat_id": seat,
            "unit_price_minor": ln.unit_price_minor, "currency": order.currency,
            "tier_id": ln.tier_id, "key_id": c.key_id, "token": t["token"],
            "terminal_id": actor.terminal_id, "operator_id": sale.operator_id,
            "printed": int(t.get("printed", 0)),
            "issued_at": datetime.fromtimestamp(c.issued_at, UTC)})
    serials = [r["serial"] for r in rows]
    ok = conn.execute(_SERIALS_FREE, {"serials": serials, "lease_id": sale.lease_id}).one()
    if not ok.reserved or not ok.unused:
        raise _bad("serials not reserved by this lease, or used already")
    conn.execute(_INSERT, rows)
    return serials


def revoke_order_tickets(conn: Connection, actor: Actor, order_id: uuid.UUID,
                         reason: str) -> int:
    """Void an order's tickets and put them on the revocation list; returns how many."""
    return void_tickets_in(conn, actor, order_id, None, reason)
