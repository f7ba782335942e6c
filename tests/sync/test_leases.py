"""Central lease services: take, sell from, return, revoke; exactly once by key.

Each counter acts on its own cashier login, a lease granted with a supervisor's PIN typed
there; the revoke comes from the supervisor's monitor login with her PIN. The owner's
``ctx`` reads results and cancels the event (setup)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.leases import LeasedSale, confirm_leased_sale, lease_info, return_lease, take_lease
from core.reservation import availability, hold_seats
from tests.sync.conftest import logins_of, make_terminal, supervisor
from tests.sync.helpers import event_id, lease_invariants, seats_of, section_id

pytestmark = pytest.mark.usefixtures("sync_logins")


def _counter(ctx, name: str, kind: str = "cashier"):
    """Terminal ``name``'s own context and actor (its login)."""
    logins = logins_of(ctx)
    return logins.context(name, kind, ctx.settings), logins.actor(name, kind)


def test_take_sell_return_seats(ctx):
    tc, t = _counter(ctx, "lease-a")
    ev = event_id(ctx.engine, "SINATRA")
    seats = seats_of(ctx.engine, ev, "BAL")[:6]
    key = uuid.uuid4()
    info = take_lease(tc, t, key, ev, seat_ids=seats, approver=supervisor(tc.engine))
    assert [s.seat_id for s in info.seats] == seats
    assert take_lease(tc, t, key, ev, seat_ids=seats) == info  # same key, same lease
    av = availability(ctx.engine, ev)
    assert all(av.state_of(s) == "L" for s in seats)
    oc, other = _counter(ctx, "lease-other")
    with pytest.raises(BoxOfficeError) as e:
        hold_seats(oc, other, uuid.uuid4(), ev, seats[:1])
    assert e.value.code == "seat_unavailable"
    price = sum(s.unit_price_minor for s in info.seats[:2])
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=price, currency=info.currency, payment_method="cash",
                      seat_ids=tuple(seats[:2]))
    k = uuid.uuid4()
    o1 = confirm_leased_sale(tc, t, k, sale)
    o2 = confirm_leased_sale(tc, t, k, sale)
    assert o1 == o2 and o1.order_id == sale.order_id and o1.total_minor == price
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(oc, other, uuid.uuid4(), sale)
    assert e.value.code == "foreign_lease"
    ret = return_lease(tc, t, uuid.uuid4(), info.lease_id)
    assert ret.returned_units == 4 and ret.status == "returned"
    av = availability(ctx.engine, ev)
    assert [av.state_of(s) for s in seats] == ["S", "S", "A", "A", "A", "A"]
    late = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=info.seats[2].unit_price_minor, currency=info.currency,
                      payment_method="cash", seat_ids=(seats[2],))
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(tc, t, uuid.uuid4(), late)
    assert e.value.code == "lease_not_active"
    assert lease_invariants(ctx.engine) == []


def test_ga_quota_and_best_seats(ctx):
    tc, t = _counter(ctx, "lease-b")
    poker = event_id(ctx.engine, "POKER-OPEN")
    ga = section_id(ctx.engine, poker, "ENTRADA")
    info = take_lease(tc, t, uuid.uuid4(), poker, section_id=ga, quantity=30,
                      approver=supervisor(tc.engine))
    assert info.kind == "ga" and info.ga_quota == 30
    assert availability(ctx.engine, poker).ga[0].leased == 30
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=poker,
                      total_minor=info.ga_unit_price_minor * 4, currency=info.currency,
                      payment_method="cash", ga_qty=4)
    confirm_leased_sale(tc, t, uuid.uuid4(), sale)
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(tc, t, uuid.uuid4(), LeasedSale(
            order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=poker,
            total_minor=info.ga_unit_price_minor * 27, currency=info.currency,
            payment_method="cash", ga_qty=27))
    assert e.value.code == "lease_exhausted"
    assert lease_invariants(ctx.engine) == []
    assert return_lease(tc, t, uuid.uuid4(), info.lease_id).returned_units == 26
    g = availability(ctx.engine, poker).ga[0]
    assert (g.leased, g.sold) == (0, 4)
    ev = event_id(ctx.engine, "MAGICA")
    mez = section_id(ctx.engine, ev, "MEZ")
    best = take_lease(tc, t, uuid.uuid4(), ev, section_id=mez, quantity=8,
                      approver=supervisor(tc.engine))
    assert len(best.seats) == 8 and {s.section_id for s in best.seats} == {mez}
    assert lease_invariants(ctx.engine) == []


def test_revoke_needs_supervisor_and_canceled_event_flags(ctx):
    tc, t = _counter(ctx, "lease-c")
    ev = event_id(ctx.engine, "COMEDIA-HOJE")
    seats = seats_of(ctx.engine, ev, "ORQ")[-4:]
    info = take_lease(tc, t, uuid.uuid4(), ev, seat_ids=seats, approver=supervisor(tc.engine))
    with pytest.raises(BoxOfficeError) as e:
        return_lease(tc, t, uuid.uuid4(), info.lease_id, revoke=True)
    assert e.value.code == "not_authorized"
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'canceled' where id = :e"), {"e": ev})
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=info.seats[0].unit_price_minor, currency=info.currency,
                      payment_method="cash", seat_ids=(seats[0],))
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(tc, t, uuid.uuid4(), sale)
    assert e.value.code == "event_canceled"
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'on_sale' where id = :e"), {"e": ev})
    mc, _ = _counter(ctx, "lease-sup", "monitor")
    carla = supervisor(mc.engine)
    sup = logins_of(ctx).actor("lease-sup", "monitor", carla.id, carla.role)
    res = return_lease(mc, sup, uuid.uuid4(), info.lease_id, revoke=True, approver=carla)
    assert res.status == "revoked" and res.returned_units == 4
    assert lease_info(ctx.engine, info.lease_id).status == "revoked"
    assert lease_invariants(ctx.engine) == []


def test_offline_terminal_lease_with_a_proof_of_its_own(ctx, db_url, tmp_path):
    """``OfflineTerminal.take_lease(approver=...)``: a supervisor's proof typed on the
    terminal's login grants one lease; used again, or typed on another login, it grants
    nothing (so F4 mints one proof per lease)."""
    term = make_terminal(ctx, db_url, None, tmp_path, "lease-d")
    ev = event_id(ctx.engine, "SINATRA")
    seats = seats_of(ctx.engine, ev, "BAL")[-6:]
    with pytest.raises(BoxOfficeError) as e:
        term.take_lease(uuid.uuid4(), ev, seat_ids=seats[:2])
    assert e.value.code == "lease_needs_supervisor"
    carla = supervisor(term.ctx.engine)
    info = term.take_lease(uuid.uuid4(), ev, seat_ids=seats[:2], approver=carla)
    assert term.leases.get(info.lease_id) is not None and info.units == 2
    with pytest.raises(BoxOfficeError) as e:  # one-use
        term.take_lease(uuid.uuid4(), ev, seat_ids=seats[2:4], approver=carla)
    assert e.value.code == "database_refused"
    oc, _ = _counter(ctx, "lease-other")
    elsewhere = supervisor(oc.engine)  # typed at another counter
    with pytest.raises(BoxOfficeError) as e:
        term.take_lease(uuid.uuid4(), ev, seat_ids=seats[2:4], approver=elsewhere)
    assert e.value.code == "database_refused"
    assert len(term.leases.all()) == 1
    assert lease_invariants(ctx.engine) == []
