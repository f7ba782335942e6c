"""Where replayed offline sales meet the payment records (core.sales): the cash goes
into the drawer of the shift it was taken in, and every offline sale has its payments
row (both written by bo_confirm_leased_sale), so shift close and reports see offline
sales like any other; a stored card's outcome is recorded here when it is charged."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

_CARD_OUTCOME = text(
    "update payments set status = :status, gateway_ref = :ref,"
    " brand = coalesce(:brand, brand), last4 = coalesce(:last4, last4)"
    " where idempotency_key = :key"
)


def payment_key(order_id: uuid.UUID) -> str:
    return f"offline:{order_id}"


def record_card_outcome(conn: Connection, order_id: uuid.UUID, captured: bool,
                        gateway_ref: str | None, *, brand: str | None = None,
                        last4: str | None = None) -> None:
    """The stored card's outcome, with its brand and last 4 digits as the gateway
    reported them on capture (a stored card's are unknown until then)."""
    conn.execute(_CARD_OUTCOME, {"status": "captured" if captured else "declined",
                                 "ref": gateway_ref, "key": payment_key(order_id),
                                 "brand": (brand or None) and brand[:20],
                                 "last4": (last4 or None) and last4[-4:]})
