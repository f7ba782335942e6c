"""Cut the database link of one terminal in the middle of a run of sales."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.reservation import hold_best_available
from tests.sync.conftest import cash_sale, lease, make_terminal, online_counter
from tests.sync.helpers import event_id, lease_invariants, seats_of, sold_per_seat

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_sales_continue_from_lease_and_replay_exactly_once(ctx, db_url, proxy, tmp_path):
    ev = event_id(ctx.engine, "BURLESCO")
    term = make_terminal(ctx, db_url, proxy, tmp_path, "cut-a")
    term.start(background=False)
    assert term.online
    leased = seats_of(ctx.engine, ev, "FRENTE")[:16]
    info = lease(term, uuid.uuid4(), ev, seat_ids=leased)
    assert len(info.seats) == 16

    # Another terminal keeps selling the rest of the room, directly, all along.
    oc, other = online_counter(ctx, "cut-b")
    other_orders: list = []
    stop = threading.Event()

    def sell_rest() -> None:
        while not stop.is_set():
            try:
                h = hold_best_available(oc, other, uuid.uuid4(), ev, 2)
            except BoxOfficeError as exc:
                assert exc.code == "sold_out"
                return
            other_orders.append(cash_sale(oc, other, h))

    rest = threading.Thread(target=sell_rest)
    rest.start()

    sales = []
    pairs = [leased[i:i + 2] for i in range(0, 16, 2)]
    for n, pair in enumerate(pairs):
        if n == 3:
            proxy.cut()  # the network goes, mid-run
        sales.append(term.sell_from_lease(ev, seat_ids=pair, method="cash"))
        if n == 3:
            # The first sale after the cut failed to push: the terminal saw the outage.
            assert not term.online
            outside = seats_of(ctx.engine, ev, "FUNDO")[:1]
            with pytest.raises(BoxOfficeError) as e:
                term.check_sellable_offline(ev, outside)
            assert e.value.code == "offline_not_in_lease"
            assert "only this terminal's leased seats" in e.value.message("en")
            with pytest.raises(BoxOfficeError) as e:
                term.sell_from_lease(ev, seat_ids=outside, method="cash")
            assert e.value.code == "not_in_lease"
            with pytest.raises(BoxOfficeError) as e:  # sold already, offline
                term.sell_from_lease(ev, seat_ids=pairs[0], method="cash")
            assert e.value.code == "not_in_lease"
    # Offline tickets go to the local spooler like any other (no database needed).
    from printing.layout import ticket_document
    from printing.spooler import Spooler

    offline_sale = sales[4]
    views = term.ticket_views(offline_sale)
    assert [v.seat_number is not None for v in views] == [True, True]
    docs = [ticket_document(v) for v in views]
    assert [d.qr_data for d in docs] == [[t["token"]] for t in offline_sale.tickets]
    spool = Spooler(term.ctx.settings, start=False, db_path=tmp_path / "spool.sqlite3")
    assert len(spool.submit_order(views)) == 2
    spool.close()

    st = term.status()
    assert st["online"] is False and st["queue_depth"] == 5
    assert st["oldest_unsent_s"] is not None
    with ctx.engine.connect() as c:
        central = c.execute(text("select count(*) from lease_sales where lease_id = :l"),
                            {"l": info.lease_id}).scalar_one()
    assert central == 3

    rest.join(60)
    stop.set()
    assert not rest.is_alive()

    proxy.restore()
    term.watch.probe_once()  # one good probe (online_after=1): reconnect catch-up runs
    assert term.online
    assert term.journal.depth() == 0, term.journal.pending()
    with ctx.engine.connect() as c:
        rows = c.execute(text("select command_key, order_id from lease_sales"
                              " where lease_id = :l"), {"l": info.lease_id}).all()
        lease_status = c.execute(text("select status from leases where id = :l"),
                                 {"l": info.lease_id}).scalar_one()
    assert sorted(r.command_key for r in rows) == sorted(s.key for s in sales)
    assert sorted(r.order_id for r in rows) == sorted(s.order_id for s in sales)
    with ctx.engine.connect() as c:
        numbers = dict(c.execute(text("select id, number from orders where id = any(:o)"),
                                 {"o": [s.order_id for s in sales]}).all())
        tokens = {r.serial: r.token for r in c.execute(text(
            "select serial, token from tickets where order_id = any(:o)"),
            {"o": [s.order_id for s in sales]})}
    # What was printed offline is what the central database holds: order numbers, tokens.
    assert all(numbers[s.order_id] == s.order_number for s in sales)
    assert tokens == {t["serial"]: t["token"] for s in sales for t in s.tickets}
    assert lease_status == "returned"
    per_seat = sold_per_seat(ctx.engine, ev)
    assert set(per_seat.values()) == {1}
    assert len(per_seat) == 80  # the whole cabaret, every seat exactly once
    assert lease_invariants(ctx.engine) == []
    term.stop()
