"""Helpers for ticket tests: a real sale (hold -> confirm -> issue) in one transaction,
with the owner's rights (a confirmation without a recorded payment is the owner's tool),
and a gate on its own login that checks the tickets in."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.app_context import CoreContext
from core.reservation import (
    availability,
    confirm_in,
    hold_best_available,
    hold_general_admission,
)
from core.tickets import IssuedTicket, issue_tickets_in
from core.uow import unit_of_work
from tests.logins import TerminalLogins


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


def sell(ctx: CoreContext, actor: Actor, code: str = "COMEDIA-HOJE", *, seats: int = 0,
         ga: int = 0) -> tuple[object, list[IssuedTicket]]:
    """Sell ``seats`` best-available seats or ``ga`` GA places and issue their tickets
    the way the sale saga does: confirm and issue in the same transaction."""
    ev = event_id(ctx, code)
    if ga:
        section = availability(ctx.engine, ev).ga[0].section_id
        hold = hold_general_admission(ctx, actor, uuid.uuid4(), ev, section, ga)
    else:
        hold = hold_best_available(ctx, actor, uuid.uuid4(), ev, seats)
    signer = ctx.signer()
    with unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, actor, hold.hold_id, f"cash:{uuid.uuid4().hex[:8]}")
        tickets = issue_tickets_in(conn, actor, order, signer)
    return order, tickets
