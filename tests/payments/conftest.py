"""Fixtures for payments and sales: a real sandbox gateway on loopback, a core context
whose gateway points at it with small timeouts, cashier/kiosk/supervisor actors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.app_context import CoreContext
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.reservation import availability, hold_best_available
from tests.conftest import make_settings
from tests.logins import TerminalLogins

FAST_GATEWAY = {
    "connect_timeout_s": 0.5, "read_timeout_s": 0.25, "retry_attempts": 4,
    "retry_timeout_s": 5.0, "retry_wait_initial_s": 0.005, "retry_wait_max_s": 0.02,
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=7) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").set_faults(latency_ms=0, error_rate=0,
                                                      timeout_rate=0, ambiguous_rate=0)


def pay_settings(db_url: str, tmp: Path, base_url: str, **breaker: object):
    gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": base_url,
          "breaker": {"window_size": 20, "minimum_calls": 10, "failure_rate_threshold": 100,
                      "wait_in_open_s": 0.05, **breaker}}
    flat = {f"gateway__{k}": v for k, v in gw.items()}
    return make_settings(db_url, tmp, sales__stuck_after_s=0, **flat)


@pytest.fixture(scope="module")
def pctx(ctx: CoreContext, db_url: str, module_tmp: Path,
         sandbox: SandboxServer) -> Iterator[CoreContext]:
    """The module's context with its gateway aimed at the sandbox."""
    settings = pay_settings(db_url, module_tmp, sandbox.base_url)
    c = CoreContext(settings=settings, engine=ctx.engine)
    c.gateway = build_gateway(settings)
    # Made once before any test spreads over threads: core.tickets creates the key file
    # on first use, and concurrent first uses could read a half-written file.
    c.signer()
    yield c
    c.gateway.close()


def operator_id(ctx: CoreContext, login: str) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(text("select id from operators where login = :l"),
                            {"l": login}).scalar_one()


@pytest.fixture(scope="module")
def cashier(pctx: CoreContext, terminal_logins: TerminalLogins) -> Actor:
    """pay-counter-1 with ana signed in; it acts on its own login (``cashier_pctx``)."""
    return terminal_logins.actor("pay-counter-1", "cashier", operator_id(pctx, "ana"),
                                 "cashier")


@pytest.fixture(scope="module")
def kiosk(terminal_logins: TerminalLogins) -> Actor:
    """pay-kiosk-1; it acts on its own login (``kiosk_pctx``)."""
    return terminal_logins.actor("pay-kiosk-1", "kiosk")


def _on_login(pctx: CoreContext, logins: TerminalLogins, actor: Actor, kind: str) -> CoreContext:
    """``pctx`` (its settings and sandbox gateway) on the terminal's own login."""
    c = logins.new_context(actor.terminal_name, kind, pctx.settings, gateway=pctx.gateway)
    c.signer()  # made before any test spreads over threads, as pctx's
    return c


@pytest.fixture(scope="module")
def cashier_pctx(pctx: CoreContext, terminal_logins: TerminalLogins,
                 cashier: Actor) -> CoreContext:
    return _on_login(pctx, terminal_logins, cashier, "cashier")


@pytest.fixture(scope="module")
def kiosk_pctx(pctx: CoreContext, terminal_logins: TerminalLogins, kiosk: Actor) -> CoreContext:
    return _on_login(pctx, terminal_logins, kiosk, "kiosk")


def event_id(ctx: CoreContext, code: str) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(text("select id from events where code = :c"),
                            {"c": code}).scalar_one()


def hold(ctx: CoreContext, actor: Actor, code: str = "SINATRA", n: int = 1):
    return hold_best_available(ctx, actor, uuid.uuid4(), event_id(ctx, code), n)


def seat_states(ctx: CoreContext, code: str) -> str:
    return availability(ctx.engine, event_id(ctx, code)).states
