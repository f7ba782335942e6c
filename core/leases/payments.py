"""Where replayed offline sales meet the payment records (core.sales): the cash goes
into the drawer of the shift it was taken in, and every offline sale has its payments
row, so shift close and reports see offline sales like any other."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from core.leases.results import LeasedSale
from core.sales.shifts import add_cash

_PAYMENT = text(
    """
    insert into payments (order_id, shift_id, kind, method, status, amount_minor, currency,
                          gateway_ref, idempotency_key)
    values (:order_id, :shift_id, 'charge', :method, :status, :amount, :currency, null, :key)
    on conflict (idempotency_key) do nothing
    """
)
_CARD_OUTCOME = text(
    "update payments set status = :status, gateway_ref = :ref,"
    " brand = coalesce(:brand, brand), last4 = coalesce(:last4, last4)"
    " where idempotency_key = :key"
)


def payment_key(order_id: uuid.UUID) -> str:
    return f"offline:{order_id}"


def record_payment(conn: Connection, shift_id: uuid.UUID | None, sale: LeasedSale,
                   total: int, currency: str) -> None:
    """The sale's payment row, and for cash its drawer movement in ``shift_id``."""
    cash = sale.payment_method == "cash"
    conn.execute(_PAYMENT, {
        "order_id": sale.order_id, "shift_id": shift_id, "method": "cash" if cash else "card",
        # A stored card is not money yet: it becomes captured or declined when charged.
        "status": "captured" if cash else "pending", "amount": total, "currency": currency,
        "key": payment_key(sale.order_id)})
    if cash and shift_id is not None:
        add_cash(conn, shift_id, "sale", total)


def record_card_outcome(conn: Connection, order_id: uuid.UUID, captured: bool,
                        gateway_ref: str | None, *, brand: str | None = None,
                        last4: str | None = None) -> None:
    """The stored card's outcome, with its brand and last 4 digits as the gateway
    reported them on capture (a stored card's are unknown until then)."""
    conn.execute(_CARD_OUTCOME, {"status": "captured" if captured else "declined",
                                 "ref": gateway_ref, "key": payment_key(order_id),
                                 "brand": (brand or None) and brand[:20],
                                 "last4": (last4 or None) and last4[-4:]})
