"""Two terminals selling offline from their leases while a third sells the rest of the
room online at the same time: afterwards nothing is oversold."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.errors import BoxOfficeError
from core.reservation import availability, hold_best_available, hold_seats
from core.reservation import hold_general_admission as hold_ga
from tests.sync.conftest import cash_sale, lease, make_terminal, online_counter
from tests.sync.helpers import event_id, lease_invariants, seats_of, section_id, sold_per_seat
from tests.sync.tcpproxy import TcpProxy

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_two_offline_one_online_zero_oversold(ctx, db_url, proxy, tmp_path):
    u = make_url(db_url)
    proxy_b = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    cab = event_id(ctx.engine, "BURLESCO")
    poker = event_id(ctx.engine, "POKER-OPEN")
    ga = section_id(ctx.engine, poker, "ENTRADA")
    a = make_terminal(ctx, db_url, proxy, tmp_path, "off-a")
    b = make_terminal(ctx, db_url, proxy_b, tmp_path, "off-b")
    for t in (a, b):
        t.start(background=False)
    front, rear = seats_of(ctx.engine, cab, "FRENTE"), seats_of(ctx.engine, cab, "FUNDO")
    lease_a = lease(a, uuid.uuid4(), cab, seat_ids=front[:16])
    lease_b = lease(b, uuid.uuid4(), cab, seat_ids=rear[:16])
    lease(a, uuid.uuid4(), poker, section_id=ga, quantity=60)
    lease(b, uuid.uuid4(), poker, section_id=ga, quantity=60)
    proxy.cut()
    proxy_b.cut()
    for t in (a, b):
        t.watch.probe_once()
        assert not t.online

    oc, c = online_counter(ctx, "online-c")
    start = threading.Barrier(3)
    errors: list[BaseException] = []
    counts = {"a": 0, "b": 0, "c_seats": 0, "c_ga": 0, "c_refused_leased": 0}

    def offline(term, name, seats) -> None:
        try:
            start.wait()
            for i in range(0, len(seats), 2):
                term.sell_from_lease(cab, seat_ids=seats[i:i + 2], method="cash")
                term.sell_from_lease(poker, ga_qty=3, method="cash")
                counts[name] += 2
            while True:  # the rest of the GA quota, until the lease says no more
                try:
                    term.sell_from_lease(poker, ga_qty=4, method="cash")
                except BoxOfficeError as exc:
                    assert exc.code == "lease_exhausted", exc.code
                    break
        except BaseException as exc:
            errors.append(exc)

    def online() -> None:
        try:
            start.wait()
            for s in front[:16:4] + rear[:16:4]:  # leased seats cannot be held by anyone else
                try:
                    hold_seats(oc, c, uuid.uuid4(), cab, [s])
                except BoxOfficeError as exc:
                    assert exc.code == "seat_unavailable"
                    counts["c_refused_leased"] += 1
            for fn in (lambda: hold_best_available(oc, c, uuid.uuid4(), cab, 2),
                       lambda: hold_ga(oc, c, uuid.uuid4(), poker, ga, 7)):
                while True:
                    try:
                        h = fn()
                    except BoxOfficeError as exc:
                        assert exc.code == "sold_out", exc.code
                        break
                    cash_sale(oc, c, h)
                    counts["c_ga" if h.lines[0].seat_id is None else "c_seats"] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=offline, args=(a, "a", front[:16])),
               threading.Thread(target=offline, args=(b, "b", rear[:16])),
               threading.Thread(target=online)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert counts["c_refused_leased"] == 8
    assert counts["c_seats"] == 24  # 48 seats outside the leases, in pairs

    # GA left for C: 400 - 120 leased; C bought in 7s until fewer than 7 were left.
    g = availability(ctx.engine, poker).ga[0]
    assert g.leased == 120 and g.sold == counts["c_ga"] * 7

    proxy.restore()
    proxy_b.restore()
    back = [threading.Thread(target=t.watch.probe_once) for t in (a, b)]
    for th in back:
        th.start()
    for th in back:
        th.join(60)
    # Both replay at once and queue on the same GA counter row: a lock timeout is a
    # transient stop by design, retried (the background pusher would do the same).
    for t in (a, b):
        for _ in range(5):
            if t.journal.depth() == 0:
                break
            assert t.push().replay.stopped_by in (None, "lock_timeout")
    assert a.journal.depth() == 0 and b.journal.depth() == 0
    assert a.journal.counts()["flagged"] == 0 and b.journal.counts()["flagged"] == 0

    per_seat = sold_per_seat(ctx.engine, cab)
    assert len(per_seat) == 80 and set(per_seat.values()) == {1}
    with ctx.engine.connect() as conn:
        ga_row = conn.execute(text("select capacity, held, sold, leased from ga_inventory"
                                   " where event_id = :e"), {"e": poker}).one()
        ga_lines = conn.execute(text("select coalesce(sum(qty), 0) from order_lines"
                                     " where event_id = :e"), {"e": poker}).scalar_one()
        statuses = conn.execute(text("select status from leases where id in (:a, :b)"),
                                {"a": lease_a.lease_id, "b": lease_b.lease_id}).scalars().all()
    assert ga_row.sold + ga_row.held + ga_row.leased <= ga_row.capacity
    assert ga_lines == ga_row.sold == counts["c_ga"] * 7 + 120
    assert statuses == ["returned", "returned"]
    assert lease_invariants(ctx.engine) == []
    for t in (a, b):
        t.stop()
    proxy_b.close()
