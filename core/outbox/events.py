"""What each change announces: one small function per message kind, called by the
service inside the transaction of its change. The payloads are the ``data`` of the
versioned envelope documented in docs/integration.md: ids, amounts in minor units with
their currency, never a customer's email address or a card number."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from core.actors import Actor
from core.outbox.write import CustomerContact, enqueue, record_contact
from core.reservation.results import OrderResult


def _who(actor: Actor) -> dict[str, Any]:
    return {"terminal": actor.terminal_name, "operator_id": actor.operator_id,
            "channel": actor.channel}


def sale_completed(conn: Connection, actor: Actor, order: OrderResult, *, sale_id: uuid.UUID,
                   tender: str, serials: Sequence[int],
                   contact: CustomerContact | None = None) -> uuid.UUID:
    """A confirmed order (tickets issued). With ``contact`` the address is stored with the
    order and the customer gets the confirmation with the e-tickets."""
    if contact is not None:
        record_contact(conn, order.order_id, actor.terminal_id, contact)
    return enqueue(conn, "sale.completed", {
        "sale_id": str(sale_id), "order_id": str(order.order_id),
        "order_number": order.number, "event_id": order.event_id,
        "total_minor": order.total_minor, "currency": order.currency, "tender": tender,
        "lines": [{"line_id": ln.line_id, "section_id": ln.section_id,
                   "seat_id": ln.seat_id, "qty": ln.qty,
                   "unit_price_minor": ln.unit_price_minor, "tier_id": ln.tier_id}
                  for ln in order.lines],
        "ticket_serials": list(serials), **_who(actor)},
        terminal_id=actor.terminal_id, email=contact is not None,
        message_id=uuid.uuid5(sale_id, "sale.completed"))


def sale_reversed(conn: Connection, actor: Actor, *, sale_id: uuid.UUID,
                  order_id: uuid.UUID | None, reason: str) -> uuid.UUID:
    """A confirmed card sale undone because the capture was refused for good."""
    return enqueue(conn, "sale.reversed", {
        "sale_id": str(sale_id), "order_id": str(order_id) if order_id else None,
        "reason": reason, **_who(actor)}, terminal_id=actor.terminal_id,
        message_id=uuid.uuid5(sale_id, "sale.reversed"))


def refund_completed(conn: Connection, actor: Actor, *, refund_id: uuid.UUID,
                     order_id: uuid.UUID, line_ids: Sequence[int], amount_minor: int,
                     currency: str, method: str, status: str, reason: str,
                     tickets_voided: int = 0) -> uuid.UUID:
    """A refund recorded (a card refund may still be on its way to the gateway:
    ``status`` pending). The customer hears of it if the order has a contact."""
    return enqueue(conn, "refund.completed", {
        "refund_id": str(refund_id), "order_id": str(order_id), "line_ids": list(line_ids),
        "amount_minor": amount_minor, "currency": currency, "method": method,
        "status": status, "reason": reason, "tickets_voided": tickets_voided,
        **_who(actor)}, terminal_id=actor.terminal_id, email=True,
        message_id=uuid.uuid5(refund_id, "refund.completed"))


def ticket_checked_in(conn: Connection, actor: Actor, *, serial: int, event_id: int,
                      gate: str, scan_key: uuid.UUID) -> uuid.UUID:
    return enqueue(conn, "ticket.checked_in", {
        "serial": serial, "event_id": event_id, "gate": gate, **_who(actor)},
        terminal_id=actor.terminal_id, message_id=uuid.uuid5(scan_key, "checked_in"))


_TIER = text("select pt.event_id, pt.section_id, e.currency from price_tiers pt"
             " join events e on e.id = pt.event_id where pt.id = :t")


def price_changed(conn: Connection, actor: Actor, *, tier_id: int, old_minor: int,
                  new_minor: int, reason: str) -> uuid.UUID:
    """A tier's current price moved (pricing rules, an override, dynamic pricing off)."""
    tier = conn.execute(_TIER, {"t": tier_id}).one()
    return enqueue(conn, "price.changed", {
        "event_id": tier.event_id, "section_id": tier.section_id, "tier_id": tier_id,
        "old_minor": old_minor, "new_minor": new_minor, "currency": tier.currency,
        "reason": reason, **_who(actor)}, terminal_id=actor.terminal_id)


def event_changed(conn: Connection, actor: Actor, kind: str, *, event_id: int,
                  code: str | None = None, **data: Any) -> uuid.UUID:
    """event.paused / event.resumed / event.rescheduled / event.canceled. A reschedule
    or cancellation is also written to every customer of the event who gave an email."""
    return enqueue(conn, kind, {"event_id": event_id, "code": code, **data, **_who(actor)},
                   terminal_id=actor.terminal_id,
                   email=kind in ("event.rescheduled", "event.canceled"))
