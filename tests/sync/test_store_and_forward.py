"""Card payments offline: store-and-forward under the floor limit and the offline total;
a decline at capture after reconnect flags the sale and revokes its tickets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from core.actors import authenticate
from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.payments.sandbox.runner import SandboxServer
from core.sales.shifts import open_shift
from core.tickets.checkin import GateChecker
from sync.cards import GatewayCardProcessor
from tests.conftest import make_settings
from tests.sync.conftest import lease, logins_of, make_terminal
from tests.sync.helpers import event_id, lease_invariants, seats_of

pytestmark = pytest.mark.usefixtures("sync_logins")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    s = SandboxServer().start()
    yield s
    s.stop()


def test_floor_limit_offline_total_and_decline_revokes(ctx, db_url, proxy, tmp_path, sandbox):
    gw = build_gateway(make_settings(db_url, tmp_path, gateway__base_url=sandbox.base_url))
    term = make_terminal(ctx, db_url, proxy, tmp_path, "saf-a",
                         cards=GatewayCardProcessor(gw),
                         sync__floor_limit_minor=30_000, sync__offline_card_total_minor=40_000)
    term.start(background=False)
    ev = event_id(ctx.engine, "COMEDIA-HOJE")
    orq = seats_of(ctx.engine, ev, "ORQ")[:8]  # 120,00 each
    lease(term, uuid.uuid4(), ev, seat_ids=orq)
    # ana signs in and opens her drawer at the terminal (its own login).
    ana = authenticate(term.ctx.engine, "ana", "1234")
    shift = open_shift(term.ctx, replace(term.actor, operator_id=ana.id), uuid.uuid4(),
                       10_000)
    proxy.cut()
    term.watch.probe_once()
    assert not term.online

    with pytest.raises(BoxOfficeError) as e:  # 360,00 > floor limit 300,00
        term.sell_from_lease(ev, seat_ids=orq[0:3], method="card", card_ref="pm_card_visa")
    assert e.value.code == "offline_card_over_floor"
    assert "R$ 300,00" in e.value.message("pt-BR")
    good = term.sell_from_lease(ev, seat_ids=orq[0:2], method="card", card_ref="pm_card_visa")
    assert good.card_risk_minor == 24_000  # shown to the cashier
    bad = term.sell_from_lease(ev, seat_ids=orq[2:3], method="card",
                               card_ref="pm_card_chargeDeclined")
    assert bad.card_risk_minor == 36_000
    with pytest.raises(BoxOfficeError) as e:  # 360,00 stored + 120,00 > 400,00
        term.sell_from_lease(ev, seat_ids=orq[3:4], method="card", card_ref="pm_card_visa")
    assert e.value.code == "offline_card_total_reached"
    cash = term.sell_from_lease(ev, seat_ids=orq[3:6], method="cash")  # the same seats, cash
    assert term.status()["offline_card_total_minor"] == 36_000
    assert term.status()["queue_depth"] == 3

    proxy.restore()
    term.watch.probe_once()
    assert term.online and term.journal.depth() == 0
    rep = term.last_reconnect
    assert rep is not None and (rep.charged, rep.declined) == (1, 1)
    with ctx.engine.connect() as c:
        rows = {r.order_id: r for r in c.execute(text(
            "select order_id, payment_method, card_status, flag from lease_sales"))}
        tickets = {r.order_id: r.n for r in c.execute(text(
            "select order_id, count(*) filter (where status = 'void') as n from tickets"
            " group by order_id"))}
        revoked = c.execute(text("select count(*) from revocations r join tickets t on"
                                 " t.id = r.ticket_id where t.order_id = :o"),
                            {"o": bad.order_id}).scalar_one()
    assert rows[good.order_id].card_status == "captured" and rows[good.order_id].flag is None
    assert rows[bad.order_id].card_status == "declined"
    assert rows[bad.order_id].flag == "card_declined_at_capture"
    assert rows[cash.order_id].card_status is None
    assert tickets == {good.order_id: 0, bad.order_id: 1, cash.order_id: 0}
    assert revoked == 1
    # Offline sales reach the shift like any other: the drawer expects the offline cash,
    # and each sale has its payment row (the declined card as declined).
    with ctx.engine.connect() as c:
        drawer = c.execute(text("select coalesce(sum(amount_minor), 0) from cash_movements"
                                " where shift_id = :s"), {"s": shift.shift_id}).scalar_one()
        pays = {r.order_id: (r.method, r.status, r.amount_minor) for r in c.execute(text(
            "select order_id, method, status, amount_minor from payments"
            " where order_id = any(:o)"), {"o": [good.order_id, bad.order_id, cash.order_id]})}
    assert drawer == 10_000 + 36_000
    assert pays == {good.order_id: ("card", "captured", 24_000),
                    bad.order_id: ("card", "declined", 12_000),
                    cash.order_id: ("cash", "captured", 36_000)}

    # The tickets printed offline are valid at the gate, except the revoked one.
    logins = logins_of(ctx)  # the gate scans on its own login
    gate = GateChecker(logins.context("gate-1", "gate", ctx.settings),
                       logins.actor("gate-1", "gate"), "A",
                       opens_before=timedelta(days=3))
    ok = gate.scan(good.tickets[0]["token"], uuid.uuid4())
    assert ok.accepted, ok
    no = gate.scan(bad.tickets[0]["token"], uuid.uuid4())
    assert not no.accepted and no.reason == "revoked"
    assert lease_invariants(ctx.engine) == []
    term.stop()
