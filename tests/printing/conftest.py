"""Helpers for ticket tests: a real sale the way a counter makes one (a hold and a cash
checkout on counter-1's own cashier login, ana signed in with her drawer open; the sale
function issues the tickets in the same call), and a gate on its own login that checks
the tickets in. The owner's ``ctx`` only reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.app_context import CoreContext
from core.reservation import OrderResult, availability, hold_best_available, hold_general_admission
from core.sales import CashTender, checkout, open_shift
from core.tickets import IssuedTicket
from core.tickets.issue import _row_to_issued
from tests.logins import TerminalLogins

# The seller's own context by its actor: ``sell`` runs the sale there, whichever context a
# test hands it (test_checkin passes the owner's, for its reads).
_SELLERS: dict[Actor, CoreContext] = {}

_TICKETS = text(
    "select id, serial, token, order_id, line_id, unit, event_id, section_id, seat_id,"
    " unit_price_minor, currency, tier_id, key_id, status, print_count, issued_at"
    " from tickets where order_id = :o order by line_id, unit")


@pytest.fixture(scope="module")
def seller_ctx(ctx: CoreContext, terminal_logins: TerminalLogins) -> CoreContext:
    """counter-1's own context (its cashier login): the one ``sell`` sells on."""
    return terminal_logins.context("counter-1", "cashier", ctx.settings, pool_size=4)


@pytest.fixture(scope="module")
def counter(ctx: CoreContext, terminal_logins: TerminalLogins,
            seller_ctx: CoreContext) -> Iterator[Actor]:
    """counter-1 with ana signed in and her drawer open, as a counter sells."""
    with ctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    actor = terminal_logins.actor("counter-1", "cashier", ana, "cashier")
    open_shift(seller_ctx, actor, uuid.uuid4(), 0)
    _SELLERS[actor] = seller_ctx
    yield actor
    _SELLERS.pop(actor, None)


@pytest.fixture(scope="module")
def gate_actor(terminal_logins: TerminalLogins) -> Actor:
    """A gate with its own login: it checks tickets in on ``gate_ctx``."""
    return terminal_logins.actor("gate-printing", "gate")


@pytest.fixture(scope="module")
def gate_ctx(ctx: CoreContext, terminal_logins: TerminalLogins,
             gate_actor: Actor) -> CoreContext:
    return terminal_logins.new_context(gate_actor.terminal_name, "gate", ctx.settings,
                                       pool_size=8)


def event_id(ctx: CoreContext, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()


def tickets_of(ctx: CoreContext, order_id: uuid.UUID) -> list[IssuedTicket]:
    """The order's tickets as issued, read on ``ctx``."""
    with ctx.engine.connect() as c:
        return [_row_to_issued(r) for r in c.execute(_TICKETS, {"o": order_id})]


def sell(ctx: CoreContext, actor: Actor, code: str = "COMEDIA-HOJE", *, seats: int = 0,
         ga: int = 0) -> tuple[OrderResult, list[IssuedTicket]]:
    """Sell ``seats`` best-available seats or ``ga`` GA places for cash on ``actor``'s own
    login (the ``counter`` fixture's), exact change; the database confirms the paid hold
    and stores the tickets in the same call. ``ctx``: any context of the module, for reads."""
    seller = _SELLERS.get(actor)
    if seller is None:
        raise AssertionError(f"{actor.terminal_name} has no login of its own here: sell"
                             " with the module's ``counter`` fixture")
    ev = event_id(ctx, code)
    if ga:
        section = availability(ctx.engine, ev).ga[0].section_id
        hold = hold_general_admission(seller, actor, uuid.uuid4(), ev, section, ga)
    else:
        hold = hold_best_available(seller, actor, uuid.uuid4(), ev, seats)
    sale = checkout(seller, actor, uuid.uuid4(), hold.hold_id, CashTender(hold.total_minor))
    tickets = tickets_of(ctx, sale.order.order_id)
    assert sorted(t.serial for t in tickets) == sorted(sale.ticket_serials)
    return sale.order, tickets
