"""Card payments: the gateway protocol, the Stripe adapter, the circuit breaker, card
readers, and the sandbox gateway used by the demo and tests.

A terminal takes cards only through the gateway its settings name: with none configured
(``gateway.kind = "none"``, the default) card payments are refused with
``card_payments_off`` before anything is held, written or sent, and cash still sells."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from core.payments.breaker import CircuitBreaker
from core.payments.card_reader import (
    TEST_CARDS,
    CardPresentation,
    CardReader,
    SimulatedCardReader,
)
from core.payments.gateway import (
    DECLINE_CODES,
    TRANSIENT_CODES,
    CircuitOpen,
    GatewayFailure,
    Intent,
    PaymentGateway,
    RefundInfo,
)
from core.payments.stripe_http import StripeGateway

if TYPE_CHECKING:
    from config import Settings

STRIPE_API = "https://api.stripe.com"
SANDBOX_KEY = "sk_test_boxoffice_sandbox"

__all__ = [
    "DECLINE_CODES",
    "STRIPE_API",
    "TEST_CARDS",
    "TRANSIENT_CODES",
    "CardPaymentsOff",
    "CardPresentation",
    "CardReader",
    "CircuitBreaker",
    "CircuitOpen",
    "GatewayFailure",
    "Intent",
    "PaymentGateway",
    "RefundInfo",
    "SimulatedCardReader",
    "StripeGateway",
    "build_gateway",
    "card_payments_on",
    "gateway_for",
    "with_demo_gateway",
]

_build_lock = threading.Lock()


class CardPaymentsOff(CircuitOpen):
    """No gateway is configured here: refused locally, nothing was sent (like an open
    circuit, so nothing retries it; a card refund stays pending for a process that has a
    gateway, the worker)."""

    def __init__(self) -> None:
        GatewayFailure.__init__(self, "card_payments_off")


def card_payments_on(settings: Settings) -> bool:
    """Whether this process may take cards at all (a gateway is configured)."""
    return settings.gateway.kind != "none"


def with_demo_gateway(settings: Settings) -> Settings:
    """``settings`` with the sandbox gateway (in-process unless a sandbox ``base_url`` is
    configured): for ``boxoffice demo`` and benchmarks on scratch databases only. Never
    a real merchant account, whatever the config file says: the demo's cards are test
    cards."""
    if settings.gateway.kind == "sandbox":
        return settings
    return settings.model_copy(update={"gateway": settings.gateway.model_copy(
        update={"kind": "sandbox", "base_url": None, "secret_key": None})})


def gateway_for(ctx: Any) -> StripeGateway:
    """Build ``ctx.gateway`` once even when several threads ask at the same time (each
    would otherwise get its own client and its own circuit breaker)."""
    with _build_lock:
        if ctx.gateway is None:
            ctx.gateway = build_gateway(ctx.settings)
        return ctx.gateway


def build_gateway(settings: Settings) -> StripeGateway:
    """The gateway the settings describe. ``kind = "sandbox"`` without a ``base_url``
    starts the project's sandbox in a background thread of this process (the demo);
    ``kind = "none"`` raises ``CardPaymentsOff``."""
    g = settings.gateway
    if g.kind == "none":
        raise CardPaymentsOff()
    if g.kind == "stripe":
        if g.secret_key is None:
            from core.errors import BoxOfficeError

            raise BoxOfficeError("invalid_input",
                                 detail="gateway.secret_key is required for kind = stripe")
        base_url, key = g.base_url or STRIPE_API, g.secret_key.get_secret_value()
    elif g.base_url is not None:
        base_url = g.base_url
        key = g.secret_key.get_secret_value() if g.secret_key else SANDBOX_KEY
    else:
        from core.payments.sandbox import start_shared_sandbox

        base_url = start_shared_sandbox(port=g.sandbox_port).base_url
        key = g.secret_key.get_secret_value() if g.secret_key else SANDBOX_KEY
    return StripeGateway(
        base_url, key, connect_timeout_s=g.connect_timeout_s, read_timeout_s=g.read_timeout_s,
        breaker=CircuitBreaker.from_settings(g.breaker, name=g.kind),
        retry_attempts=g.retry_attempts, retry_timeout_s=g.retry_timeout_s,
        retry_wait_initial_s=g.retry_wait_initial_s, retry_wait_max_s=g.retry_wait_max_s,
        max_connections=g.max_connections, name=g.kind,
    )
