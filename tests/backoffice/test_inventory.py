"""Inventory: blocked seats refuse holds (chosen seats and best available) and come back
when released; GA capacity never goes below held + sold, also under a race; comps."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from core.backoffice.inventory import (
    block_seats,
    blocked_seats,
    issue_comp,
    seat_ids_for,
    set_ga_capacity,
    unblock_seats,
)
from core.errors import BoxOfficeError
from core.reservation import availability, hold_best_available, hold_general_admission, hold_seats
from tests.backoffice.conftest import event_id, make_show, sign_in
from tests.conftest import make_actor


def test_blocked_seats_refuse_holds_and_come_back(bctx, actx, carla, hall, sellers):
    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    cc, counter = sellers("bo-inv-counter")
    kc, kiosk = sellers("bo-inv-kiosk", "kiosk")
    row_a = seat_ids_for(bctx.engine, code, ["ORQ:A"])
    assert len(row_a) == 40
    sold = hold_seats(cc, counter, uuid.uuid4(), ev, [row_a[0]])
    res = block_seats(actx, carla, uuid.uuid4(), code, row_a, reason="house seats",
                      kind="house")
    assert set(res.changed) == set(row_a[1:]) and res.skipped == {"held": [row_a[0]]}
    listed = blocked_seats(bctx.engine, code)
    assert len(listed) == 39 and {b.kind for b in listed} == {"house"}
    assert listed[0].operator == "carla"
    for own, actor in ((cc, counter), (kc, kiosk)):
        with pytest.raises(BoxOfficeError) as e:
            hold_seats(own, actor, uuid.uuid4(), ev, [row_a[5]])
        assert e.value.code == "seat_unavailable"
    from core.leases.service import take_lease  # the offline face sells from leases

    with pytest.raises(BoxOfficeError) as e:
        take_lease(cc, counter, uuid.uuid4(), ev, seat_ids=[row_a[6]],
                   approver=sign_in(cc, "carla"))  # her PIN typed at the counter
    assert e.value.code == "seat_unavailable"
    # Best available walks past blocked seats, even when they are the best ones.
    best = hold_best_available(kc, kiosk, uuid.uuid4(), ev, 2, section_ids=[
        _section(bctx, ev, "ORQ")])
    assert not set(best.seat_ids) & set(row_a)

    press = seat_ids_for(bctx.engine, code, ["ORQ:B-1", "ORQ:B-2"])
    block_seats(actx, carla, uuid.uuid4(), code, press, reason="press", kind="press")
    back = unblock_seats(actx, carla, uuid.uuid4(), code, kind="house")
    assert set(back.changed) == set(row_a[1:])
    assert {b.kind for b in blocked_seats(bctx.engine, code)} == {"press"}
    got = hold_seats(kc, kiosk, uuid.uuid4(), ev, [row_a[5]])
    assert got.seat_ids == (row_a[5],)
    states = availability(bctx.engine, ev)
    assert states.states[states.seat_ids.index(press[0])] == "B"
    assert sold.hold_id


def test_ga_capacity_never_below_held_and_sold(bctx, actx, carla, hall, sellers):
    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    ga = _section(bctx, ev, "PISTA")
    cc, counter = sellers("bo-ga-counter")
    hold_general_admission(cc, counter, uuid.uuid4(), ev, ga, 10)
    with pytest.raises(BoxOfficeError) as e:
        set_ga_capacity(actx, carla, uuid.uuid4(), code, "PISTA", 9)
    assert e.value.code == "capacity_below_taken" and e.value.details["taken"] == 10
    assert set_ga_capacity(actx, carla, uuid.uuid4(), code, "PISTA", 10).capacity == 10
    with pytest.raises(BoxOfficeError) as e:
        hold_general_admission(cc, counter, uuid.uuid4(), ev, ga, 1)
    assert e.value.code == "sold_out"
    assert set_ga_capacity(actx, carla, uuid.uuid4(), code, "PISTA", 500).capacity == 500
    with pytest.raises(BoxOfficeError) as e:
        set_ga_capacity(actx, carla, uuid.uuid4(), code, "ORQ", 5)
    assert e.value.code == "not_general_admission"

    # Buyers racing a supervisor lowering the capacity: whatever order they commit in,
    # the counter never ends above capacity and the cut never lands below what is taken.
    errors: list[str] = []
    buyers = [sellers(f"bo-ga-race-{i}") for i in range(6)]

    def buy(i: int) -> None:
        own, a = buyers[i]
        for _ in range(10):
            try:
                hold_general_admission(own, a, uuid.uuid4(), ev, ga, 5)
            except BoxOfficeError as exc:
                errors.append(exc.code)

    def cut() -> None:
        for cap in range(480, 40, -20):
            try:
                set_ga_capacity(actx, carla, uuid.uuid4(), code, "PISTA", cap)
            except BoxOfficeError as exc:
                errors.append(exc.code)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=cut))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with bctx.engine.connect() as c:
        row = c.execute(text("select capacity, held, sold, leased from ga_inventory where"
                             " event_id = :e and section_id = :s"), {"e": ev, "s": ga}).one()
        held = c.execute(text("select coalesce(sum(hi.qty), 0) from hold_items hi join holds h"
                              " on h.id = hi.hold_id where h.event_id = :e and h.status ="
                              " 'active' and hi.seat_id is null"), {"e": ev}).scalar_one()
    assert row.held + row.sold + row.leased <= row.capacity
    assert row.held == held
    assert set(errors) <= {"sold_out", "capacity_below_taken", "lock_timeout"}


def test_comp_tickets_from_house_seats(bctx, actx, carla, hall):
    code = make_show(actx, carla, hall)
    seats = seat_ids_for(bctx.engine, code, ["MEZ:A-1", "MEZ:A-2"])
    block_seats(actx, carla, uuid.uuid4(), code, seats, reason="house")
    key = uuid.uuid4()
    comp = issue_comp(actx, carla, key, code, reason="artist guests", seat_ids=seats,
                      recipient="Guest of the artist")
    assert issue_comp(actx, carla, key, code, reason="artist guests", seat_ids=seats,
                      recipient="Guest of the artist") == comp
    assert len(comp.serials) == 2
    with bctx.engine.connect() as c:
        o = c.execute(text("select total_minor, payment_ref from orders where id = :o"),
                      {"o": comp.order_id}).one()
        row = c.execute(text("select c.reason, op.login from comps c join operators op on"
                             " op.id = c.operator_id where c.order_id = :o"),
                        {"o": comp.order_id}).one()
        prices = c.execute(text("select distinct unit_price_minor from tickets where"
                                " order_id = :o"), {"o": comp.order_id}).scalars().all()
    assert (o.total_minor, o.payment_ref) == (0, "comp")
    assert tuple(row) == ("artist guests", "carla") and prices == [0]
    assert blocked_seats(bctx.engine, code) == []
    cashier = make_actor(bctx, "bo-comp-cashier")
    with pytest.raises(BoxOfficeError) as e:
        issue_comp(bctx, cashier, uuid.uuid4(), code, reason="x", ga_section="PISTA",
                   quantity=1)
    assert e.value.code == "not_authorized"


def _section(ctx, ev: int, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select s.id from sections s join events e on e.venue_id ="
                              " s.venue_id where e.id = :e and s.code = :c"),
                         {"e": ev, "c": code}).scalar_one()


def test_blocks_race_buyers_without_deadlock(bctx, actx, carla, hall, sellers):
    """Buyers hold random seats of a section while a supervisor blocks and releases rows
    of it: no deadlock, no error but 'taken', and no seat ends both blocked and held."""
    import random
    import threading

    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    rows = [seat_ids_for(bctx.engine, code, [f"BAL:{r}"]) for r in "ABCDEF"]
    everything = [s for r in rows for s in r]
    errors: list[str] = []
    buyers = [sellers(f"bo-race-buyer-{i}") for i in range(6)]

    def buyer(i: int) -> None:
        own, a = buyers[i]
        rnd = random.Random(i)
        for _ in range(25):
            try:
                hold_seats(own, a, uuid.uuid4(), ev, rnd.sample(everything, 3))
            except BoxOfficeError as exc:
                errors.append(exc.code)

    def supervisor() -> None:
        for r in rows * 2:
            for fn in (block_seats, unblock_seats):
                kw = {"reason": "race", "kind": "technical"} if fn is block_seats else {}
                try:
                    fn(actx, carla, uuid.uuid4(), code, r, **kw)
                except BoxOfficeError as exc:
                    errors.append(exc.code)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=supervisor))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) <= {"seat_unavailable", "lock_timeout"}, set(errors)
    with bctx.engine.connect() as c:
        bad = c.execute(text("select count(*) from event_seats es join hold_items hi on"
                             " hi.seat_id = es.seat_id join holds h on h.id = hi.hold_id"
                             " where es.event_id = :e and h.event_id = :e and es.status ="
                             " 'blocked' and h.status = 'active' and h.expires_at > now()"
                             " and es.hold_id is null and es.seat_id = any(:ids)"),
                        {"e": ev, "ids": everything}).scalar_one()
    assert bad == 0


def test_changes_are_announced_after_commit(bctx, actx, carla, hall):
    """Open seat maps refresh on these (the Redis feed is one of the listeners)."""
    from core.backoffice.events import set_sales
    from core.backoffice.prices import override_price

    code = make_show(actx, carla, hall)
    ev = event_id(bctx, code)
    seen: list = []
    actx.listeners.append(seen.append)
    try:
        seats = seat_ids_for(bctx.engine, code, ["ORQ:C-1"])
        block_seats(actx, carla, uuid.uuid4(), code, seats, reason="camera")
        unblock_seats(actx, carla, uuid.uuid4(), code, seats)
        set_ga_capacity(actx, carla, uuid.uuid4(), code, "PISTA", 250)
        set_sales(actx, carla, uuid.uuid4(), code, "pause")
        override_price(actx, carla, uuid.uuid4(), code, "PISTA", 5500, reason="x")
    finally:
        actx.listeners.remove(seen.append)
    assert [(c.event_id, c.kind) for c in seen] == [
        (ev, "blocked"), (ev, "released"), (ev, "capacity"), (ev, "status"), (ev, "price")]
    assert seen[0].seat_ids == tuple(seats)
