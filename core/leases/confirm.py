"""Applying, centrally and exactly once, a sale a terminal made from its lease.

The terminal journals each sale with an idempotency key and replays it here; the key's
``command_log`` row commits in the same transaction as the order, so a replay that is
cut at any point either finds its first result or applies it once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from core import audit
from core.actors import Actor
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.leases import payments, sql, tickets
from core.leases.results import LeasedSale
from core.leases.service import lock_lease
from core.reservation.results import OrderLineResult, OrderResult
from core.sales.shifts import open_shift_id
from core.uow import after_commit, unit_of_work

# Replay failures that waiting cannot fix: the command is kept and flagged for a
# supervisor. Anything else (database gone, lock timeout) is retried on the next replay.
PERMANENT = frozenset({
    "unknown_lease", "lease_not_active", "foreign_lease", "leased_seat_gone",
    "lease_exhausted", "event_canceled", "amount_mismatch", "idempotency_conflict",
    "invalid_input", "unknown_event", "not_authorized", "unknown_order",
})


def confirm_leased_sale(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                        sale: LeasedSale) -> OrderResult:
    """Sell leased seats (or GA units of a lease quota) as ``sale`` says, in one
    transaction: seats leased -> sold, a confirmed hold, the order and its lines, the
    tickets the terminal signed offline, the audit entry. Safe to repeat with ``key``."""
    key = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "confirm_leased_sale", sale.to_json(),
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return OrderResult.from_json(done)
        result = confirm_leased_in(conn, actor, key, sale)
        finish_command(conn, key, result.to_json())
        change = SeatChange(result.event_id, "sold", tuple(sale.seat_ids),
                            None if sale.seat_ids else result.lines[0].section_id)
        after_commit(conn, lambda: ctx.publish(change))
        return result


def confirm_leased_sales(ctx: CoreContext, actor: Actor,
                         items: Sequence[tuple[uuid.UUID, LeasedSale]]
                         ) -> list[OrderResult | BoxOfficeError]:
    """Apply several journaled sales, in order, in one transaction (one commit, one fsync,
    instead of one per sale). Each sale runs in its own savepoint: a sale that can no
    longer apply is rolled back alone and returned as its error; the others commit
    together with their ``command_log`` keys, so the batch is exactly-once as a whole.
    A database failure rolls back the whole batch (nothing applied, replay later)."""
    out: list[OrderResult | BoxOfficeError] = []
    changes: list[SeatChange] = []
    with unit_of_work(ctx.engine) as conn:
        for key, sale in items:
            who = replace(actor, operator_id=sale.operator_id)
            savepoint = conn.begin_nested()
            try:
                done = begin_command(conn, key, "confirm_leased_sale", sale.to_json(),
                                     actor.terminal_id, ctx.settings.database.lock_timeout_ms)
                if done is not None:
                    result = OrderResult.from_json(done)
                else:
                    result = confirm_leased_in(conn, who, key, sale)
                    finish_command(conn, key, result.to_json())
                    changes.append(SeatChange(
                        result.event_id, "sold", tuple(sale.seat_ids),
                        None if sale.seat_ids else result.lines[0].section_id))
            except BoxOfficeError as exc:
                if exc.code not in PERMANENT:
                    raise  # the whole batch rolls back; the caller retries one by one
                savepoint.rollback()
                out.append(exc)
                continue
            savepoint.commit()
            out.append(result)
        for change in changes:
            after_commit(conn, partial(ctx.publish, change))
    return out


def confirm_leased_in(conn: Connection, actor: Actor, key: uuid.UUID,
                      sale: LeasedSale) -> OrderResult:
    lease = lock_lease(conn, sale.lease_id)
    if lease.terminal_id != actor.terminal_id:
        raise BoxOfficeError("foreign_lease")
    if lease.status != "active":
        raise BoxOfficeError("lease_not_active", status=lease.status)
    if lease.event_status == "canceled":
        raise BoxOfficeError("event_canceled")
    if sale.event_id != lease.event_id:
        raise BoxOfficeError("invalid_input", detail="The sale's event is not the lease's.")
    if sale.order_number is not None and sale.order_number not in (lease.order_numbers or ()):
        raise BoxOfficeError("invalid_input",
                             detail=f"order number {sale.order_number} is not the lease's")
    if bool(sale.seat_ids) == bool(sale.ga_qty):
        raise BoxOfficeError("invalid_input", detail="A leased sale sells seats or GA units.")
    items: list[dict[str, Any]] = []
    seats = sorted(int(s) for s in sale.seat_ids)
    if seats:
        prices = conn.execute(sql.SELL_LEASED, {"event_id": lease.event_id, "seat_ids": seats,
                                                "n": len(seats), "lease_id": lease.id,
                                                "order_id": sale.order_id}).all()
        if len(prices) != len(seats):
            raise BoxOfficeError("leased_seat_gone", seat_ids=seats)
        items = [{"section_id": p.section_id, "seat_id": p.seat_id, "qty": 1,
                  "price": int(p.unit_price_minor), "tier_id": p.tier_id} for p in prices]
    else:
        if lease.kind != "ga":
            raise BoxOfficeError("invalid_input", detail="This lease holds seats, not GA units.")
        got = conn.execute(sql.SELL_GA_LEASE, {"lease_id": lease.id, "n": sale.ga_qty}).first()
        if got is None:
            raise BoxOfficeError("lease_exhausted", left=lease.ga_quota - lease.ga_sold)
        items = [{"section_id": lease.section_id, "seat_id": None, "qty": sale.ga_qty,
                  "price": int(lease.ga_unit_price_minor), "tier_id": lease.ga_tier_id}]
    total = sum(i["price"] * i["qty"] for i in items)
    if total != sale.total_minor or sale.currency != lease.currency:
        raise BoxOfficeError("amount_mismatch", amount=sale.total_minor, total=total)
    hold_id = uuid.uuid5(sale.order_id, "hold")
    payment_ref = _payment_ref(sale)
    # The shift the cashier sold in; else the one open now (its drawer holds the cash).
    shift_id = sale.shift_id or open_shift_id(conn, actor.terminal_id)
    rows = conn.execute(sql.WRITE_SALE, {
        "sec": [i["section_id"] for i in items], "seat": [i["seat_id"] for i in items],
        "qty": [i["qty"] for i in items], "price": [i["price"] for i in items],
        "tier": [i["tier_id"] for i in items],
        "hold_id": hold_id, "order_id": sale.order_id, "number": sale.order_number,
        "event_id": lease.event_id,
        "terminal_id": actor.terminal_id, "operator_id": sale.operator_id,
        "shift_id": shift_id, "total_minor": total, "currency": lease.currency,
        "payment_ref": payment_ref, "customer_name": sale.customer_name,
        "lease_id": lease.id, "key": key, "method": sale.payment_method,
        "card_status": "pending" if sale.payment_method == "card_saf" else None,
        "card_ref": sale.card_ref, "sold_at": sale.sold_at,
        "sold_ts": _when_sold(sale.sold_at)}).all()
    result = OrderResult(
        order_id=sale.order_id, number=int(rows[0].number), event_id=lease.event_id,
        hold_id=hold_id, total_minor=total, currency=lease.currency, payment_ref=payment_ref,
        lines=tuple(OrderLineResult(r.id, r.section_id, r.seat_id, r.qty,
                                    int(r.unit_price_minor), r.tier_id) for r in rows))
    serials = tickets.record_offline_tickets(conn, actor, result, sale)
    payments.record_payment(conn, shift_id, sale, total, lease.currency)
    audit.append(conn, actor, "confirm_leased_sale", "order", sale.order_id,
                 {"number": result.number, "lease_id": str(lease.id), "seats": seats,
                  "ticket_serials": serials,
                  "ga_qty": sale.ga_qty, "total_minor": total, "currency": lease.currency,
                  "payment": sale.payment_method, "sold_at_terminal": sale.sold_at})
    from core.outbox import events as outbox_events

    # Sold offline from the lease, announced now that the central database has it (an
    # offline sale has no sales row: its sale_id is the order id).
    outbox_events.sale_completed(conn, actor, result, sale_id=sale.order_id,
                                 tender="cash" if sale.payment_method == "cash" else "card",
                                 serials=serials)
    return result


def _when_sold(sold_at: str | None) -> datetime | None:
    """The terminal's record of when it sold (ISO 8601 with an offset); None when it is
    missing or unreadable: the replay time stands in, as before."""
    if not sold_at:
        return None
    try:
        when = datetime.fromisoformat(sold_at)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _payment_ref(sale: LeasedSale) -> str:
    if sale.payment_method == "cash":
        return f"cash:offline:{sale.order_id}"
    return f"saf:{sale.order_id}"


def set_card_outcome(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                     order_id: uuid.UUID | str, *, captured: bool,
                     gateway_ref: str | None = None, reason: str | None = None,
                     brand: str | None = None, last4: str | None = None) -> dict:
    """Record the capture of a stored (offline) card payment. A decline after the fact
    flags the sale for a supervisor and revokes its tickets (revocation list)."""
    key = as_key(key)
    order_id = as_key(order_id)
    with unit_of_work(ctx.engine) as conn:
        params = {"order_id": str(order_id), "captured": captured, "ref": gateway_ref}
        done = begin_command(conn, key, "saf_card_outcome", params, actor.terminal_id,
                             ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return done
        row = conn.execute(sql.LOCK_LEASE_SALE, {"order_id": order_id}).first()
        if row is None or row.payment_method != "card_saf":
            raise BoxOfficeError("invalid_input",
                                 detail=f"{order_id} is not an offline card sale.")
        status = "captured" if captured else "declined"
        conn.execute(sql.SET_CARD_STATUS, {
            "status": status, "ref": gateway_ref,
            "flag": None if captured else "card_declined_at_capture", "order_id": order_id})
        payments.record_card_outcome(conn, order_id, captured, gateway_ref, brand=brand,
                                     last4=last4)
        revoked = 0 if captured else tickets.revoke_order_tickets(
            conn, actor, order_id, reason or "card declined at capture")
        audit.append(conn, actor, f"saf_card_{status}", "order", order_id,
                     {"gateway_ref": gateway_ref, "reason": reason, "revoked": revoked})
        result = {"order_id": str(order_id), "card_status": status, "revoked": revoked}
        finish_command(conn, key, result)
        return result


def record_conflict(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, command: str,
                    payload: dict[str, Any], error: BoxOfficeError) -> None:
    """Keep a replayed command that can no longer apply, for a supervisor (idempotent)."""
    with unit_of_work(ctx.engine) as conn:
        inserted = conn.execute(sql.INSERT_CONFLICT, {
            "terminal_id": actor.terminal_id, "key": as_key(key), "command": command,
            "payload": json.dumps(payload, default=str), "code": error.code,
            "error": json.dumps(error.to_dict(), default=str)}).rowcount
        if inserted:
            audit.append(conn, actor, "sync_conflict", "command", key,
                         {"command": command, "code": error.code})
