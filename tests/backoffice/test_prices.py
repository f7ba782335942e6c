"""Prices by hand: an override shows on the next hold and not on holds already taken;
over the threshold a second supervisor approves (never the requester); the history says
who changed what; dynamic rules off."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from core.backoffice.prices import (
    decide_request,
    override_price,
    price_history,
    price_requests,
    set_dynamic,
)
from core.errors import BoxOfficeError
from core.pricing import apply_pricing
from core.reservation import hold_general_admission
from core.sales import CashTender, SupervisorPin, checkout, open_shift
from tests.backoffice.conftest import event_id, make_show, sign_in
from tests.conftest import make_actor


def _ga(ctx, ev: int) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select s.id from sections s join events e on e.venue_id ="
                              " s.venue_id where e.id = :e and s.code = 'PISTA'"),
                         {"e": ev}).scalar_one()


def test_override_shows_on_next_hold_not_on_existing(bctx, actx, carla, dora, hall, sellers):
    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    cc, counter = sellers("bo-price-counter")
    before = hold_general_admission(cc, counter, uuid.uuid4(), ev, _ga(bctx, ev), 2)
    assert before.lines[0].unit_price_minor == 5000
    res = override_price(actx, carla, uuid.uuid4(), code, "PISTA", 6000,
                         reason="strong demand")
    assert (res.status, res.old_minor, res.new_minor) == ("applied", 5000, 6000)
    after = hold_general_admission(cc, counter, uuid.uuid4(), ev, _ga(bctx, ev), 1)
    assert after.lines[0].unit_price_minor == 6000
    with bctx.engine.connect() as c:
        kept = c.execute(text("select unit_price_minor from hold_items where hold_id = :h"),
                         {"h": before.hold_id}).scalar_one()
    assert kept == 5000
    # The pricing job keeps the manual price instead of moving it back.
    apply_pricing(*sellers("bo-pricing", "worker"), ev)  # the worker's job, on its login
    again = hold_general_admission(cc, counter, uuid.uuid4(), ev, _ga(bctx, ev), 1)
    assert again.lines[0].unit_price_minor == 6000
    # The older hold still sells at what it quoted.
    with bctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    from core.actors import Actor

    cashier = Actor(counter.terminal_id, counter.terminal_name, ana, "cashier", "counter")
    open_shift(cc, cashier, uuid.uuid4(), 0)
    sale = checkout(cc, cashier, uuid.uuid4(), before.hold_id, CashTender(10_000))
    assert sale.amount_minor == 10_000

    for bad, code_ in ((100, "price_out_of_bounds"), (20_000, "price_out_of_bounds"),
                       (5050, "price_not_whole")):
        with pytest.raises(BoxOfficeError) as e:
            override_price(actx, carla, uuid.uuid4(), code, "PISTA", bad, reason="x")
        assert e.value.code == code_
    hist = price_history(bctx.engine, code)
    assert [(h.section, h.old_minor, h.new_minor, h.reason, h.changed_by) for h in hist] == \
        [("PISTA", 5000, 6000, "strong demand", "carla")]
    with pytest.raises(BoxOfficeError) as e:
        override_price(bctx, make_actor(bctx, "bo-price-cashier"), uuid.uuid4(), code,
                       "PISTA", 6000, reason="x")
    assert e.value.code == "not_authorized"


def test_big_change_needs_a_second_supervisor(bctx, actx, carla, dora, hall):
    code = make_show(actx, carla, hall, pct=20)
    ev = event_id(bctx, code)
    res = override_price(actx, carla, uuid.uuid4(), code, "ORQ", 30000,
                         reason="sold out elsewhere")
    assert res.status == "pending" and res.request_id
    with bctx.engine.connect() as c:
        assert c.execute(text("select current_minor from price_tiers where id = :t"),
                         {"t": res.tier_id}).scalar_one() == 20000
    pending = price_requests(bctx.engine, event=code)
    assert [(p.section, p.new_minor, p.requested_by) for p in pending] == \
        [("ORQ", 30000, "carla")]
    with pytest.raises(BoxOfficeError) as e:
        decide_request(actx, carla, uuid.uuid4(), res.request_id, approve=True,
                       approver=sign_in(actx, "carla"))
    assert e.value.code == "self_approval"
    # Dora types her PIN on the console: its one-use proof records her approval there.
    ok = decide_request(actx, dora, uuid.uuid4(), res.request_id, approve=True,
                        approver=sign_in(actx, "dora"))
    assert (ok.status, ok.new_minor, ok.approved_by) == ("applied", 30000, dora.operator_id)
    with pytest.raises(BoxOfficeError) as e:
        decide_request(actx, dora, uuid.uuid4(), res.request_id, approve=False)
    assert e.value.code == "price_request_decided"
    hist = price_history(bctx.engine, code)[-1]
    assert (hist.changed_by, hist.approved_by, hist.new_minor) == ("carla", "dora", 30000)
    with bctx.engine.connect() as c:
        appr = c.execute(text("select requested_by, approved_by from approvals where kind ="
                              " 'price_override' and entity_id = :t"),
                         {"t": str(res.tier_id)}).all()
    assert [tuple(a) for a in appr] == [(carla.operator_id, dora.operator_id)]

    # With the second supervisor's PIN typed at once, it applies at once; own PIN refused.
    with pytest.raises(BoxOfficeError) as e:
        override_price(actx, carla, uuid.uuid4(), code, "MEZ", 25000, reason="x",
                       approver=SupervisorPin("carla", "9999"))
    assert e.value.code == "self_approval"
    now = override_price(actx, carla, uuid.uuid4(), code, "MEZ", 25000, reason="gala",
                         approver=SupervisorPin("dora", "8888"))
    assert (now.status, now.approved_by) == ("applied", dora.operator_id)
    # Under the threshold no approval is needed.
    small = override_price(actx, carla, uuid.uuid4(), code, "BAL", 10000, reason="nudge")
    assert small.status == "applied" and small.approved_by is None
    rejected = override_price(actx, carla, uuid.uuid4(), code, "BAL", 16000, reason="x")
    assert decide_request(actx, dora, uuid.uuid4(), rejected.request_id,
                          approve=False).status == "rejected"
    assert ev


def test_dynamic_rules_off_and_on(bctx, actx, carla, hall, sellers):
    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    with bctx.engine.begin() as c:
        c.execute(text("insert into pricing_rules (event_id, section_id, kind, params, active)"
                       " values (:e, null, 'occupancy', cast(:p as jsonb), true)"),
                  {"e": ev, "p": json.dumps({"steps": [[0, 20]]})})
    apply_pricing(*sellers("bo-pricing", "worker"), ev)  # the worker's job, on its login
    with bctx.engine.connect() as c:
        assert c.execute(text("select current_minor from price_tiers pt join sections s on"
                              " s.id = pt.section_id where pt.event_id = :e and s.code ="
                              " 'ORQ'"), {"e": ev}).scalar_one() == 24000
    override_price(actx, carla, uuid.uuid4(), code, "BAL", 10000, reason="manual")
    off = set_dynamic(actx, carla, uuid.uuid4(), code, False)
    assert off["rules"] == 1 and len(off["repriced"]) == 3  # ORQ, MEZ, PISTA; BAL manual
    prices = _prices(bctx, ev)
    assert prices == {"ORQ": 20000, "MEZ": 15000, "BAL": 10000, "PISTA": 5000}
    apply_pricing(*sellers("bo-pricing", "worker"), ev)
    assert _prices(bctx, ev) == prices
    set_dynamic(actx, carla, uuid.uuid4(), code, True)
    assert _prices(bctx, ev)["ORQ"] == 24000


def _prices(ctx, ev: int) -> dict[str, int]:
    with ctx.engine.connect() as c:
        return dict(c.execute(text("select s.code, pt.current_minor from price_tiers pt join"
                                   " sections s on s.id = pt.section_id where pt.event_id ="
                                   " :e"), {"e": ev}).all())
