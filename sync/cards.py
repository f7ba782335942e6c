"""Store-and-forward card payments: taken offline under a floor limit, charged when the
terminal is back online. The charge uses an idempotency key derived from the order, so a
crash between the gateway's answer and the journal's record just asks again and gets the
same answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    approved: bool
    gateway_ref: str | None = None
    reason: str | None = None


class StoredCardProcessor(Protocol):
    def charge_stored(self, key: uuid.UUID, amount_minor: int, currency: str,
                      card_ref: str) -> ChargeOutcome:
        """Authorize and capture now. A decline is an outcome; an unreachable gateway
        raises (the payment stays stored and is retried on the next push)."""
        ...


def charge_key(order_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(order_id, "saf-charge")
