"""Card payments: the gateway protocol, the Stripe adapter, the circuit breaker, card
readers, and the sandbox gateway used by the demo and tests."""

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
    "gateway_for",
]

_build_lock = threading.Lock()


def gateway_for(ctx: Any) -> StripeGateway:
    """Build ``ctx.gateway`` once even when several threads ask at the same time (each
    would otherwise get its own client and its own circuit breaker)."""
    with _build_lock:
        if ctx.gateway is None:
            ctx.gateway = build_gateway(ctx.settings)
        return ctx.gateway


def build_gateway(settings: Settings) -> StripeGateway:
    """The gateway the settings describe. ``kind = "sandbox"`` without a ``base_url``
    starts the project's sandbox in a background thread of this process (the demo)."""
    g = settings.gateway
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
