"""Store-and-forward card payments: taken offline under a floor limit, charged when the
terminal is back online. The charge uses an idempotency key derived from the order, so a
crash between the gateway's answer and the journal's record just asks again and gets the
same answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    approved: bool
    gateway_ref: str | None = None
    reason: str | None = None
    # What the gateway says of the card it charged (a stored card's is known only then).
    brand: str | None = None
    last4: str | None = None


class StoredCardProcessor(Protocol):
    def charge_stored(self, key: uuid.UUID, amount_minor: int, currency: str,
                      card_ref: str) -> ChargeOutcome:
        """Authorize and capture now. A decline is an outcome; an unreachable gateway
        raises (the payment stays stored and is retried on the next push)."""
        ...


def charge_key(order_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(order_id, "saf-charge")


class GatewayCardProcessor:
    """Stored card payments charged through the project's card gateway
    (core.payments.PaymentGateway): authorize, then capture, each with its own
    idempotency key derived from the order's."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def charge_stored(self, key: uuid.UUID, amount_minor: int, currency: str,
                      card_ref: str) -> ChargeOutcome:
        from core.errors import BoxOfficeError
        from core.payments import DECLINE_CODES

        try:
            intent = self.gateway.authorize(amount_minor, currency, card_ref,
                                            idempotency_key=f"{key}:auth",
                                            metadata={"store_and_forward": "1",
                                                      # the worker checks whose charge it is
                                                      "charge_key": str(key)})
        except BoxOfficeError as exc:
            if exc.code in DECLINE_CODES:
                return ChargeOutcome(False, None, exc.code)
            raise
        if intent.status == "requires_payment_method":
            return ChargeOutcome(False, intent.id, "card_declined")
        done = self.gateway.capture(intent.id, idempotency_key=f"{key}:capture")
        return ChargeOutcome(True, done.id, None, brand=done.card_brand or intent.card_brand,
                             last4=done.card_last4 or intent.card_last4)
