"""Applying, centrally and exactly once, a sale a terminal made from its lease.

The terminal journals each sale with an idempotency key and replays it here; the key's
``command_log`` row commits in the same transaction as the order, so a replay that is
cut at any point either finds its first result or applies it once. The sale itself is
written by the database function ``bo_confirm_leased_sale`` (migration 0014), which
checks that the lease is the calling terminal's, the places and prices are the lease's,
and the tickets carry its reserved serials and the terminal's own live key; the order's
command key is unique there too, so a sale is applied once whatever the client does.
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
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.leases import payments, sql, tickets
from core.leases.refusals import raise_lease_refusal
from core.leases.results import LeasedSale
from core.reservation.results import OrderLineResult, OrderResult
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
    if bool(sale.seat_ids) == bool(sale.ga_qty):
        raise BoxOfficeError("invalid_input", detail="A leased sale sells seats or GA units.")
    serials = tickets.check_offline_tickets(conn, actor, sale)
    hold_id = uuid.uuid5(sale.order_id, "hold")
    try:
        rows = conn.execute(sql.CONFIRM_LEASED, {
            "key": key, "order_id": sale.order_id, "hold_id": hold_id,
            "lease_id": sale.lease_id, "terminal_id": actor.terminal_id,
            "event_id": sale.event_id, "operator_id": sale.operator_id,
            # The shift the cashier sold in (the database checks it is this terminal's);
            # none: the one open now, whose drawer holds the cash.
            "shift_id": sale.shift_id, "number": sale.order_number,
            "seat_ids": sorted(int(s) for s in sale.seat_ids), "ga_qty": sale.ga_qty,
            "method": sale.payment_method, "card_ref": sale.card_ref,
            "total_minor": sale.total_minor, "currency": sale.currency,
            "customer_name": sale.customer_name, "sold_at": sale.sold_at,
            "sold_ts": _when_sold(sale.sold_at),
            "tokens": [t["token"] for t in sale.tickets],
            "printed": [int(t.get("printed", 0)) for t in sale.tickets]}).all()
    except DBAPIError as exc:
        raise_lease_refusal(exc)
    result = OrderResult(
        order_id=sale.order_id, number=int(rows[0].number), event_id=sale.event_id,
        hold_id=hold_id, total_minor=sale.total_minor, currency=sale.currency,
        payment_ref=_payment_ref(sale),
        lines=tuple(OrderLineResult(r.line_id, r.section_id, r.seat_id, r.qty,
                                    int(r.unit_price_minor), r.tier_id) for r in rows))
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
