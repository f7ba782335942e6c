import uuid

from sqlalchemy import text

from core.reservation import (
    availability,
    confirm_sale,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
)


def _event(ctx, code):
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code=:c"), {"c": code}).scalar_one()


def test_smoke(ctx, counter):
    ev = _event(ctx, "SINATRA")
    av = availability(ctx.engine, ev)
    h = hold_seats(ctx, counter, uuid.uuid4(), ev, list(av.seat_ids[:2]))
    assert len(h.lines) == 2
    b = hold_best_available(ctx, counter, uuid.uuid4(), ev, 3)
    assert b.adjacent
    o = confirm_sale(ctx, counter, uuid.uuid4(), h.hold_id, "cash:1")
    assert o.total_minor == h.total_minor
    release_hold(ctx, counter, uuid.uuid4(), b.hold_id)
    poker = _event(ctx, "POKER-OPEN")
    pav = availability(ctx.engine, poker)
    g = hold_general_admission(ctx, counter, uuid.uuid4(), poker, pav.ga[0].section_id, 3)
    assert g.quantity == 3
    av2 = availability(ctx.engine, ev)
    assert av2.count("S") == 2 and av2.count("H") == 0
