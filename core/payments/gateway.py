"""What the saga needs from a card gateway, independent of who provides it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import BoxOfficeError

# Codes that mean the gateway itself failed (not the card): these, and only these, are
# retried with the same idempotency key and counted by the circuit breaker.
TRANSIENT_CODES = frozenset({"gateway_unavailable", "gateway_timeout"})
DECLINE_CODES = frozenset({"card_declined", "insufficient_funds", "expired_card"})


class GatewayFailure(BoxOfficeError):
    """The gateway could not be reached or failed (5xx, timeout, dropped connection).
    The request may or may not have taken effect: replay it with the same key."""


class CircuitOpen(GatewayFailure):
    """Refused locally by the open circuit breaker: nothing was sent, so never retried."""

    def __init__(self, name: str) -> None:
        super().__init__("gateway_unavailable", circuit="open", breaker=name)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, GatewayFailure) and not isinstance(exc, CircuitOpen)


@dataclass(frozen=True, slots=True)
class Intent:
    """A PaymentIntent as the gateway reports it. ``status`` uses Stripe's words:
    requires_capture (authorized), succeeded (captured), canceled, requires_payment_method
    (declined), processing."""

    id: str
    status: str
    amount_minor: int
    currency: str
    amount_received_minor: int = 0
    amount_refunded_minor: int = 0
    payment_method: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # From the charge (``latest_charge`` expanded): what a receipt and a report may show.
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True, slots=True)
class RefundInfo:
    id: str
    intent_id: str
    status: str
    amount_minor: int


class PaymentGateway(Protocol):
    """Card operations. Every mutating call takes an idempotency key: repeating a call
    with the same key and arguments returns the first answer and never acts twice.

    Declines raise BoxOfficeError(card_declined | insufficient_funds | expired_card);
    gateway trouble raises GatewayFailure(gateway_unavailable | gateway_timeout)."""

    name: str

    def authorize(self, amount_minor: int, currency: str, payment_method: str, *,
                  idempotency_key: str, metadata: dict[str, str] | None = None) -> Intent: ...

    def capture(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def void(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def refund(self, intent_id: str, amount_minor: int | None, *,
               idempotency_key: str) -> RefundInfo: ...

    def lookup(self, intent_id: str) -> Intent: ...

    def find_intents(self, metadata: dict[str, str], *, created_from: int,
                     created_to: int) -> list[Intent]:
        """The intents created between the two Unix times whose metadata contains
        ``metadata``: how a sale whose authorization answer was lost learns what the
        gateway made, without a call that could make one."""
        ...

    def breaker_state(self) -> str: ...

    def close(self) -> None: ...


def intent_from_stripe(d: dict[str, Any]) -> Intent:
    """An Intent from Stripe's PaymentIntent JSON. The refunded amount is the charge's
    (``latest_charge`` expanded by the request): a PaymentIntent has no ``amount_refunded``
    of its own, so a top-level one is never read."""
    pm = d.get("payment_method")
    refunded = 0
    brand = last4 = None
    charge = d.get("latest_charge")
    if isinstance(charge, dict):
        refunded = int(charge.get("amount_refunded") or 0)
        card = ((charge.get("payment_method_details") or {}).get("card") or {})
        brand, last4 = card.get("brand"), card.get("last4")
    return Intent(
        id=d["id"], status=d["status"], amount_minor=int(d["amount"]),
        currency=str(d.get("currency", "")).upper(),
        amount_received_minor=int(d.get("amount_received") or 0),
        amount_refunded_minor=refunded,
        payment_method=pm if isinstance(pm, str) or pm is None else pm.get("id"),
        metadata=dict(d.get("metadata") or {}),
        card_brand=str(brand)[:20] if brand else None,
        card_last4=str(last4)[-4:] if last4 else None,
    )
