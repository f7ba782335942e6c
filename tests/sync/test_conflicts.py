"""Commands that can no longer apply (lease revoked, event canceled) are kept, flagged
for a supervisor and reported centrally; never silently dropped, never oversold."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.leases import return_lease
from tests.sync.conftest import (
    cash_sale,
    lease,
    logins_of,
    make_terminal,
    online_counter,
    supervisor,
)
from tests.sync.helpers import event_id, lease_invariants, seats_of, section_id, sold_per_seat

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_revoked_lease_and_canceled_event_are_flagged(ctx, db_url, proxy, tmp_path):
    term = make_terminal(ctx, db_url, proxy, tmp_path, "conf-a")
    term.start(background=False)
    magica = event_id(ctx.engine, "MAGICA")
    comedia = event_id(ctx.engine, "COMEDIA-HOJE")
    m_seats = seats_of(ctx.engine, magica, "BAL")[:4]
    c_seats = seats_of(ctx.engine, comedia, "BAL")[:4]
    lm = lease(term, uuid.uuid4(), magica, seat_ids=m_seats)
    lease(term, uuid.uuid4(), comedia, seat_ids=c_seats)
    poker = event_id(ctx.engine, "POKER-OPEN")
    lease(term, uuid.uuid4(), poker, section_id=section_id(ctx.engine, poker, "ENTRADA"),
                    quantity=4)
    proxy.cut()
    term.watch.probe_once()
    s1 = term.sell_from_lease(magica, seat_ids=m_seats[:2], method="cash")
    ok1 = term.sell_from_lease(poker, ga_qty=1, method="cash")  # still fine
    s2 = term.sell_from_lease(comedia, seat_ids=c_seats[:2], method="cash")
    s3 = term.sell_from_lease(comedia, seat_ids=c_seats[2:3], method="cash")
    ok2 = term.sell_from_lease(poker, ga_qty=2, method="cash")

    # Meanwhile, centrally: a supervisor revokes the MAGICA lease (terminal presumed
    # lost), and COMEDIA-HOJE is canceled.
    # The revoke from the supervisor's monitor login, her PIN typed there; the cancel is
    # the owner's (setup).
    logins = logins_of(ctx)
    mc = logins.context("conf-sup", "monitor", ctx.settings)
    carla = supervisor(mc.engine)
    sup = logins.actor("conf-sup", "monitor", carla.id, carla.role)
    assert return_lease(mc, sup, uuid.uuid4(), lm.lease_id, revoke=True,
                        approver=carla).returned_units == 4
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'canceled' where id = :e"), {"e": comedia})
    oc, other = online_counter(ctx, "conf-b")
    from core.reservation import hold_seats

    h = hold_seats(oc, other, uuid.uuid4(), magica, m_seats[:2])  # back on sale: sold again
    cash_sale(oc, other, h)

    proxy.restore()
    term.watch.probe_once()
    assert term.online
    counts = term.journal.counts()
    # The five sales went in one batch: the three that cannot apply were rolled back
    # alone (savepoints) and flagged, the two others applied.
    assert counts["pending"] == 0 and counts["flagged"] == 3
    flagged = {e.key: e.last_error["code"] for e in term.journal.entries("flagged")}
    assert flagged == {s1.key: "lease_not_active", s2.key: "event_canceled",
                       s3.key: "event_canceled"}
    assert term.status()["flagged"] == 3
    with ctx.engine.connect() as c:
        rows = {r.command_key: r for r in c.execute(text(
            "select command_key, command, error_code, payload from sync_conflicts"
            " where terminal_id = :t"), {"t": term.actor.terminal_id})}
    assert set(rows) == {s1.key, s2.key, s3.key}
    assert rows[s1.key].payload["order_id"] == str(s1.order_id)  # enough to refund/contact
    with ctx.engine.connect() as c:
        applied = c.execute(text("select count(*) from lease_sales where command_key in"
                                 " (:a, :b)"), {"a": ok1.key, "b": ok2.key}).scalar_one()
    assert applied == 2
    assert set(sold_per_seat(ctx.engine, magica).values()) == {1}
    from core.leases.conflicts import list_conflicts, resolve_conflict

    listed = [c for c in list_conflicts(ctx.engine) if c.terminal == "conf-a"]
    assert {c.command_key for c in listed} == {s1.key, s2.key, s3.key}
    k = uuid.uuid4()
    assert resolve_conflict(ctx, sup, k, listed[0].id, "refunded at the desk")
    assert resolve_conflict(ctx, sup, k, listed[0].id, "refunded at the desk")  # same key
    assert not resolve_conflict(ctx, sup, uuid.uuid4(), listed[0].id, "again")
    assert len([c for c in list_conflicts(ctx.engine) if c.terminal == "conf-a"]) == 2
    assert lease_invariants(ctx.engine) == []
    term.stop()
