"""Smoke: a counter on its own cashier login holds, sells for cash and releases; the
owner's ``ctx`` seeded the demo and reads the room."""

import uuid

from sqlalchemy import text

from core.reservation import (
    availability,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
)
from core.sales import CashTender, checkout, open_shift


def _event(ctx, code):
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code=:c"), {"c": code}).scalar_one()


def test_smoke(ctx, terminal_logins):
    with ctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    counter = terminal_logins.actor("smoke-counter", "cashier", ana, "cashier")
    own = terminal_logins.context("smoke-counter", "cashier", ctx.settings)
    open_shift(own, counter, uuid.uuid4(), 0)
    ev = _event(ctx, "SINATRA")
    av = availability(ctx.engine, ev)
    h = hold_seats(own, counter, uuid.uuid4(), ev, list(av.seat_ids[:2]))
    assert len(h.lines) == 2
    b = hold_best_available(own, counter, uuid.uuid4(), ev, 3)
    assert b.adjacent
    o = checkout(own, counter, uuid.uuid4(), h.hold_id, CashTender(h.total_minor)).order
    assert o.total_minor == h.total_minor
    release_hold(own, counter, uuid.uuid4(), b.hold_id)
    poker = _event(ctx, "POKER-OPEN")
    pav = availability(ctx.engine, poker)
    g = hold_general_admission(own, counter, uuid.uuid4(), poker, pav.ga[0].section_id, 3)
    assert g.quantity == 3
    av2 = availability(ctx.engine, ev)
    assert av2.count("S") == 2 and av2.count("H") == 0
