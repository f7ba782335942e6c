"""The one-call hot paths of migration 0015 on terminals' own database logins (what a
terminal, or a thief with its config file, connects as): a kiosk holds and sells by card,
a counter sells for cash, a gate checks in, each with the round trips and commits the
guards in test_round_trips.py count; and a login cannot use the functions to act as
another terminal or to sell what its kind may not."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, open_shift
from core.tickets import GateChecker
from tests.payments.conftest import FAST_GATEWAY
from tests.perf.counting import counting
from tests.perf.test_round_trips import (
    BEST_AVAILABLE,
    CARD_CHECKOUT,
    CASH_CHECKOUT,
    CHECK_IN,
)
from tests.security.conftest import actor_for, terminal_context, terminal_settings


def _event(ctx, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()


@pytest.fixture(scope="module")
def logins(provision, sandbox, tmp_path_factory):
    made = {}
    gw = {f"gateway__{k}": v for k, v in
          {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}.items()}
    for kind in ("kiosk", "cashier", "gate"):
        t = provision(kind, f"perf-{kind}-{uuid.uuid4().hex[:6]}")
        tmp = tmp_path_factory.mktemp(kind)
        c = terminal_context(t, tmp, terminal_settings(t, tmp, **gw))
        c.gateway = build_gateway(c.settings)
        made[kind] = (t, c)
    yield made
    for _, c in made.values():
        c.gateway.close()
        c.engine.dispose()


def test_kiosk_login_holds_and_sells_by_card_in_the_counted_calls(ctx, logins):
    t, c = logins["kiosk"]
    actor = actor_for(t)
    ev = _event(ctx, "COMEDIA-HOJE")
    warm = hold_best_available(c, actor, uuid.uuid4(), ev, 1)  # key made, statements prepared
    checkout(c, actor, uuid.uuid4(), warm.hold_id, CardTender("pm_card_visa"))
    with counting(c.engine) as n:
        h = hold_best_available(c, actor, uuid.uuid4(), ev, 2)
    assert n.summary() == BEST_AVAILABLE, n.statements
    with counting(c.engine) as n:
        res = checkout(c, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    assert n.summary() == CARD_CHECKOUT, n.statements
    assert not res.capture_pending and len(res.ticket_serials) == 2
    with ctx.engine.connect() as conn:
        row = conn.execute(text(
            "select s.state, o.status, (select count(*) from tickets t where t.order_id ="
            " o.id) as tickets, (select string_agg(p.status, ',') from payments p where"
            " p.sale_id = s.id) as payments from sales s join orders o on o.id = s.order_id"
            " where s.id = :s"), {"s": res.sale_id}).one()
    assert tuple(row) == ("completed", "paid", 2, "captured")
    # Cash is not a kiosk's: refused inside the function, as before.
    h2 = hold_best_available(c, actor, uuid.uuid4(), ev, 1)
    with pytest.raises(BoxOfficeError) as e:
        checkout(c, actor, uuid.uuid4(), h2.hold_id, CashTender(100_000))
    assert e.value.code == "cash_not_accepted"


def test_counter_login_sells_for_cash_in_two_round_trips(ctx, logins):
    t, c = logins["cashier"]
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    ev = _event(ctx, "COMEDIA-HOJE")
    h = hold_best_available(c, actor, uuid.uuid4(), ev, 2)
    with pytest.raises(BoxOfficeError) as e:  # no shift of its own yet
        checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert e.value.code == "no_open_shift"
    open_shift(c, actor, uuid.uuid4(), 10_000)
    with pytest.raises(BoxOfficeError) as e:
        checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor - 1))
    assert e.value.code == "tender_insufficient"
    assert e.value.to_dict()["details"] == {"tendered": h.total_minor - 1,
                                            "total": h.total_minor}
    key = uuid.uuid4()
    with counting(c.engine) as n:
        res = checkout(c, actor, key, h.hold_id, CashTender(h.total_minor + 100))
    assert n.summary() == CASH_CHECKOUT, n.statements
    assert res.change_minor == 100 and len(res.ticket_serials) == 2
    assert checkout(c, actor, key, h.hold_id, CashTender(h.total_minor + 100)) == res
    with pytest.raises(BoxOfficeError) as e:  # the same key for another request
        checkout(c, actor, key, h.hold_id, CardTender("pm_card_visa"))
    assert e.value.code == "idempotency_conflict"


def test_gate_login_checks_in_in_one_call(ctx, logins):
    _, counter = logins["cashier"]
    t, c = logins["gate"]
    ct, _ = logins["cashier"]
    ana = authenticate(counter.engine, "ana", "1234")
    seller = actor_for(ct, ana.id, ana.role)
    ev = _event(ctx, "COMEDIA-HOJE")
    h = hold_best_available(counter, seller, uuid.uuid4(), ev, 2)
    sold = checkout(counter, seller, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    with ctx.engine.connect() as conn:
        tokens = conn.execute(text("select token from tickets where order_id = :o"
                                   " order by serial"), {"o": sold.order.order_id}).scalars().all()
    gate = GateChecker(c, actor_for(t), "PERF-GATE")
    assert gate.scan(tokens[0], uuid.uuid4()).accepted
    with counting(c.engine) as n:
        assert gate.scan(tokens[1], uuid.uuid4()).accepted
    assert n.summary() == CHECK_IN, n.statements
    assert gate.scan(tokens[1], uuid.uuid4()).reason == "already_used"


def test_a_login_cannot_act_as_another_terminal_through_the_functions(ctx, logins):
    kt, k = logins["kiosk"]
    ct, _ = logins["cashier"]
    ev = _event(ctx, "COMEDIA-HOJE")
    raw = k.engine
    # A hold written in the counter's name: row security refuses it.
    with pytest.raises(DBAPIError) as e, raw.connect() as conn:
        conn.execute(text(
            "select * from bo_hold_best(gen_random_uuid(), 1, 'hold_best', 'x', :ev, 1, null,"
            " gen_random_uuid(), 600, :other, null, 'kiosk', :chain, '1000ms')"),
            {"ev": ev, "other": ct.terminal_id, "chain": kt.name})
    assert "row-level security" in str(e.value.orig)
    # Selling through the cash function as a kiosk: refused, nothing written.
    h = hold_best_available(k, actor_for(kt), uuid.uuid4(), ev, 1)
    with pytest.raises(DBAPIError) as e, raw.connect() as conn:
        conn.execute(text(
            "select * from bo_cash_sale(gen_random_uuid(), 'x', gen_random_uuid(), :h, :t,"
            " null, 'counter', 999999, 0, null, false, :chain, '1000ms', 'k', gen_random_uuid(),"
            " :t, 'kid', '\\x00', '[]', '{}', gen_random_uuid(), null, null, null)"),
            {"h": h.hold_id, "t": kt.terminal_id, "chain": kt.name})
    assert "no_open_shift" in str(e.value.orig) or "permission denied" in str(e.value.orig) \
        or "cash_not_accepted" in str(e.value.orig)
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select count(*) from sales where hold_id = :h"),
                            {"h": h.hold_id}).scalar_one() == 0
    # The gate's function is the gate's only.
    with pytest.raises(DBAPIError) as e, raw.connect() as conn:
        conn.execute(text(
            "select * from bo_check_in(gen_random_uuid(), 'x', 1, :ev, 'G', 'k', 1, 1, 0, :t,"
            " null, 0, 0, '1000ms', '{}', gen_random_uuid())"), {"ev": ev, "t": kt.terminal_id})
    assert "permission denied" in str(e.value.orig)
