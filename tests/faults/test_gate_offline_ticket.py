"""Issue 13 item 19: an online gate accepts a ticket sold offline before its sale is
replayed (signed by the selling terminal's registered key, with a serial its lease
reserved, for a place of that lease), records the check-in once, and the replayed
ticket is born used at that time and gate."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from core.actors import authenticate
from core.leases import LeasedSale, confirm_leased_sale, take_lease
from core.tickets.checkin import GateChecker
from sync.tickets import local_signer, sign_offline_tickets
from tests.conftest import make_settings
from tests.core.helpers import event_id, seats_of
from tests.security.conftest import (  # noqa: F401 (fixtures)
    actor_for,
    provision,
    terminal_context,
    terminal_settings,
    terminals,
)


def test_an_online_gate_lets_in_an_offline_ticket_before_its_sale_is_replayed(
        ctx, db_url: str, tmp_path: Path, terminal_logins) -> None:
    # The counter on its own cashier login (ana signed in, the lease granted with carla's
    # PIN typed there), the gate on its gate login; the owner's ``ctx`` reads.
    name = f"offl-{uuid.uuid4().hex[:6]}"
    settings = make_settings(db_url, tmp_path, terminal__name=name)
    tctx = terminal_logins.new_context(name, "cashier", settings, pool_size=2)
    try:
        ana = authenticate(tctx.engine, "ana", "1234")
        seller = terminal_logins.actor(name, "cashier", ana.id, ana.role)
        tctx.signer()  # registers the terminal's key, as a counter does when online
        ev = event_id(ctx.engine, "COMEDIA-HOJE")
        lease = take_lease(tctx, seller, uuid.uuid4(), ev,
                           seat_ids=seats_of(ctx.engine, ev, "BAL")[-3:],
                           approver=authenticate(tctx.engine, "carla", "9999"))
        order_id = uuid.uuid4()
        sold = list(lease.seats[:2])
        tickets = sign_offline_tickets(local_signer(settings), list(lease.serials[:2]),
                                       order_id, ev, sold, None, 0)
        gate = GateChecker(terminal_logins.context("gate-east", "gate", ctx.settings),
                           terminal_logins.actor("gate-east", "gate"), "east")

        first = gate.scan(tickets[0]["token"], uuid.uuid4())
        assert first.accepted, first
        again = gate.scan(tickets[0]["token"], uuid.uuid4())
        assert (again.accepted, again.reason) == (False, "already_used")
        assert again.details.get("gate") == "east"

        # A forged place (a seat outside the lease) or a serial the lease did not reserve
        # is no offline sale.
        other = sign_offline_tickets(local_signer(settings), [lease.serials[0] + 10**6],
                                     order_id, ev, sold[:1], None, 0)
        assert not gate.scan(other[0]["token"], uuid.uuid4()).accepted

        # The counter reconnects and replays the sale: the ticket exists, born used.
        sale = LeasedSale(order_id=order_id, lease_id=lease.lease_id, event_id=ev,
                          total_minor=sum(int(s.unit_price_minor) for s in sold),
                          currency=lease.currency, payment_method="cash",
                          seat_ids=tuple(s.seat_id for s in sold), tickets=tuple(tickets))
        confirm_leased_sale(tctx, seller, uuid.uuid4(), sale)
        with ctx.engine.connect() as c:
            rows = {r.serial: (r.status, r.used_gate, r.linked) for r in c.execute(text(
                "select t.serial, t.status, t.used_gate, exists (select 1 from checkins ci"
                " where ci.ticket_id = t.id) as linked from tickets t"
                " where t.order_id = :o"), {"o": order_id})}
        assert rows[tickets[0]["serial"]] == ("used", "east", True)
        assert rows[tickets[1]["serial"]] == ("valid", None, False)
        late = gate.scan(tickets[0]["token"], uuid.uuid4())
        assert (late.accepted, late.reason) == (False, "already_used")
        assert gate.scan(tickets[1]["token"], uuid.uuid4()).accepted
    finally:
        tctx.engine.dispose()


def test_on_the_gate_and_counter_logins(ctx, terminals, tmp_path: Path) -> None:  # noqa: F811
    """The same, each side on its own database login: the gate may not read leases, so
    it asks bo_offline_ticket_leased; the counter's replay links the check-in without
    any right on checkins."""
    from core.actors import authenticate

    cashier, gate_t = terminals["cashier"], terminals["gate"]
    cctx = terminal_context(cashier, tmp_path / "c", terminal_settings(cashier, tmp_path / "c"))
    gctx = terminal_context(gate_t, tmp_path / "g")
    try:
        ana = authenticate(cctx.engine, "ana", "1234")
        seller = actor_for(cashier, ana.id, ana.role)
        cctx.signer()
        ev = event_id(ctx.engine, "COMEDIA-HOJE")
        lease = take_lease(cctx, seller, uuid.uuid4(), ev,
                           seat_ids=seats_of(ctx.engine, ev, "BAL")[-6:-4],
                           approver=authenticate(cctx.engine, "carla", "9999"))
        order_id = uuid.uuid4()
        sold = list(lease.seats[:1])
        tickets = sign_offline_tickets(local_signer(cctx.settings), list(lease.serials[:1]),
                                       order_id, ev, sold, None, 0)
        gate = GateChecker(gctx, actor_for(gate_t), "west")
        assert gate.scan(tickets[0]["token"], uuid.uuid4()).accepted
        assert gate.scan(tickets[0]["token"], uuid.uuid4()).reason == "already_used"
        sale = LeasedSale(order_id=order_id, lease_id=lease.lease_id, event_id=ev,
                          total_minor=int(sold[0].unit_price_minor), currency=lease.currency,
                          payment_method="card_saf", card_ref="pm_card_visa",
                          seat_ids=(sold[0].seat_id,), tickets=tuple(tickets),
                          operator_id=ana.id)
        confirm_leased_sale(cctx, seller, uuid.uuid4(), sale)
        with ctx.engine.connect() as c:
            row = c.execute(text(
                "select t.status, t.used_gate, ci.ticket_id = t.id as linked from tickets t"
                " join checkins ci on ci.serial = t.serial where t.order_id = :o"),
                {"o": order_id}).one()
        assert tuple(row) == ("used", "west", True)
    finally:
        cctx.engine.dispose()
        gctx.engine.dispose()
