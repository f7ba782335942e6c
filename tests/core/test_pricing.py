"""Dynamic pricing: rules, bounds, history, quoted prices, supervisor overrides.

The counter holds and sells on its own cashier login (ana signed in, drawer open); the
supervisor sets rules and reprices on the back office's admin login. The owner's ``ctx``
makes events, widens bounds and reads the history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.errors import BoxOfficeError
from core.pricing import TierState, add_rule, apply_pricing, override_price, target_price
from core.reservation import hold_seats, sections
from core.sales import CashTender, checkout, open_shift
from core.sales.approvals import SupervisorPin
from tests.core.helpers import key, make_event, seats_of

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def tier(taken: int, capacity: int = 100, base: int = 10_000, hours_left: float = 24) -> TierState:
    return TierState(1, 1, 1, base, 7_000, 20_000, base, capacity, taken,
                     NOW + timedelta(hours=hours_left), NOW)


def test_occupancy_steps_take_the_highest_reached():
    rules = [("occupancy", {"steps": [[50, 10], [80, 25]]})]
    assert target_price(tier(10), rules)[0] == 10_000
    assert target_price(tier(50), rules) == (11_000, "occupancy 50% +10%")
    assert target_price(tier(85), rules)[0] == 12_500


def test_last_minute_discount_bounded_by_floor_and_rounded():
    rules = [("last_minute", {"hours_before": 3, "percent": -45, "max_occupancy": 60})]
    assert target_price(tier(10, hours_left=5), rules)[0] == 10_000  # not yet
    assert target_price(tier(10, hours_left=2), rules)[0] == 7_000  # floor, not 5,500
    assert target_price(tier(70, hours_left=2), rules)[0] == 10_000  # selling well
    odd = tier(10, base=9_999, hours_left=2)
    price, _ = target_price(odd, [("last_minute", {"hours_before": 3, "percent": -10})])
    assert price % 100 == 0 and price == 9_000


def test_manual_override_wins_and_ceiling_holds():
    rules = [("occupancy", {"steps": [[0, 400]]}), ("manual", {"price_minor": 15_000})]
    assert target_price(tier(0), rules)[0] == 15_000
    assert target_price(tier(0), rules[:1])[0] == 20_000


@pytest.fixture(scope="module")
def supervisor_actor(ctx, terminal_logins):
    """(supervisor, cashier): each an (own context, actor) pair on its own login."""
    with ctx.engine.connect() as c:
        sup = c.execute(text("select id from operators where login = 'carla'")).scalar_one()
        cashier = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    desk = terminal_logins.context("pricing-desk", "admin", ctx.settings)
    counter = terminal_logins.context("pricing-counter", "cashier", ctx.settings)
    sup_a = terminal_logins.actor("pricing-desk", "admin", sup, "supervisor")
    cash_a = terminal_logins.actor("pricing-counter", "cashier", cashier, "cashier")
    open_shift(counter, cash_a, key(), 0)
    return (desk, sup_a), (counter, cash_a)


def _sell(c, cashier: Actor, hold_id, total: int):
    """A counter's sale: a checkout paid in cash."""
    return checkout(c, cashier, key(), hold_id, CashTender(total)).order


def _widen(ctx, ev):
    with ctx.engine.begin() as c:
        c.execute(text("update price_tiers set floor_minor = 5000, ceiling_minor = 20000"
                       " where event_id = :e"), {"e": ev})


def test_rules_reprice_the_room_and_holds_keep_their_quote(ctx, supervisor_actor):
    (dc, sup), (cc, cashier) = supervisor_actor
    ev, sec, _ = make_event(ctx.engine, rows=2, per_row=5, price=10_000)
    _widen(ctx, ev)
    seats = seats_of(ctx.engine, ev)
    early = hold_seats(cc, cashier, key(), ev, seats[:1])
    with pytest.raises(BoxOfficeError) as exc:
        add_rule(cc, cashier, key(), ev, "occupancy", {"steps": [[50, 20]]})
    assert exc.value.code == "not_authorized"
    k = key()
    rid = add_rule(dc, sup, k, ev, "occupancy", {"steps": [[50, 20]]}, sec)
    assert add_rule(dc, sup, k, ev, "occupancy", {"steps": [[50, 20]]}, sec) == rid
    for s in seats[1:5]:
        h = hold_seats(cc, cashier, key(), ev, [s])
        _sell(cc, cashier, h.hold_id, h.total_minor)
    assert apply_pricing(dc, sup, ev)[0].new_minor == 12_000
    assert apply_pricing(dc, sup, ev) == []  # nothing due: nothing written
    late = hold_seats(cc, cashier, key(), ev, seats[6:7])
    assert late.total_minor == 12_000
    order = _sell(cc, cashier, early.hold_id, early.total_minor)
    assert order.total_minor == 10_000  # the price quoted when it was held
    with ctx.engine.connect() as c:
        hist = c.execute(text("select old_minor, new_minor, reason from price_changes pc join"
                              " price_tiers pt on pt.id = pc.tier_id where pt.event_id = :e"),
                         {"e": ev}).all()
    assert [(h.old_minor, h.new_minor) for h in hist] == [(10_000, 12_000)]
    assert "occupancy" in hist[0].reason
    with pytest.raises(BoxOfficeError) as exc:
        add_rule(dc, sup, key(), ev, "occupancy", {"steps": "lots"})
    assert exc.value.code == "invalid_rule"


def test_override_needs_a_supervisor_pin_and_bounds(ctx, supervisor_actor):
    # On the desk's admin login: a counter's login may not touch price_tiers, and no
    # counter face calls this override (the console's is core.backoffice.prices').
    (dc, sup), (_cc, ana) = supervisor_actor
    cc, cashier = dc, replace(sup, operator_id=ana.operator_id, role="cashier")
    ev, sec, _ = make_event(ctx.engine, rows=1, per_row=4, price=10_000)
    _widen(ctx, ev)
    tier_id = next(s.tier_id for s in sections(ctx.engine, ev) if s.id == sec)
    with pytest.raises(BoxOfficeError) as exc:
        override_price(cc, cashier, key(), tier_id, 9_000, SupervisorPin("carla", "0000"))
    assert exc.value.code == "invalid_pin"
    with pytest.raises(BoxOfficeError) as exc:
        override_price(cc, cashier, key(), tier_id, 1, SupervisorPin("carla", "9999"))
    assert exc.value.code == "price_out_of_bounds"
    assert override_price(cc, cashier, key(), tier_id, 15_000,
                          SupervisorPin("carla", "9999")) == 15_000
    assert next(s.price_minor for s in sections(ctx.engine, ev) if s.id == sec) == 15_000
    with ctx.engine.connect() as c:
        approvals = c.execute(text("select count(*) from approvals where kind ="
                                   " 'price_override' and entity_id = :t"),
                              {"t": str(tier_id)}).scalar_one()
    assert approvals == 1
