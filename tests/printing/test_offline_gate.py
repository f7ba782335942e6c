"""Offline gates: snapshot verification, revocations, once-only locally, upload.

counter-1 sells and voids on its cashier login, the gate scans and uploads on its gate
login; the snapshot is exported with the owner's rights (``boxoffice tickets snapshot``,
an operator's tool: it is signed with the box office's key), and ``ctx`` reads."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.sales import refund
from core.tickets import (
    GateChecker,
    OfflineGate,
    ticket_views,
    upload_offline_checkins,
    write_snapshot,
)
from tests.printing.conftest import sell


def test_offline_accepts_once_across_threads_rejects_revoked_and_uploads(ctx, counter,
                                                                        tmp_path, gate_ctx,
                                                                        gate_actor,
                                                                        seller_ctx):
    order, tickets = sell(ctx, counter, seats=3)
    # Refunded at the counter: its ticket is voided and revoked with the refund.
    refund(seller_ctx, counter, uuid.uuid4(), order.order_id, reason_code="customer_request",
           line_ids=[tickets[2].line_id])
    _, [entered] = sell(ctx, counter, seats=1)
    assert GateChecker(gate_ctx, gate_actor, "ONLINE").scan(entered.token, uuid.uuid4()).accepted
    snap = write_snapshot(ctx.engine, tmp_path / "snap.json")
    assert tickets[2].serial in snap["revoked"] and "private" not in str(snap).lower()
    store = tmp_path / "gate.sqlite3"
    gates = [OfflineGate(tmp_path / "snap.json", store, f"P{i}") for i in range(8)]
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def scan(i: int) -> None:
        barrier.wait()
        results[i] = gates[i].scan(tickets[0].token, uuid.uuid4())

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r.accepted for r in results) == 1
    [view] = ticket_views(ctx.engine, serials=[tickets[0].serial])
    [ok] = [r for r in results if r.accepted]
    assert ok.details["place"] == f"{view.section_code} {view.row_label}-{view.seat_number}"
    assert {r.reason for r in results if not r.accepted} == {"already_used"}
    assert gates[0].scan(tickets[2].token).reason == "revoked"
    before = gates[0].scan(entered.token)  # entered online before the snapshot
    assert before.reason == "already_used" and before.details["gate"] == "ONLINE"
    assert gates[0].scan(tickets[1].token).accepted
    # The gate's own clock decides the day offline.
    later = OfflineGate(snap, tmp_path / "other.sqlite3", "X",
                        clock=lambda: datetime.now(UTC) + timedelta(days=2))
    assert later.scan(tickets[1].token).reason == "wrong_day"
    # Back online: the two entries are recorded centrally; a second upload adds nothing.
    assert upload_offline_checkins(gate_ctx, gate_actor, gates[0]) == {"recorded": 2}
    assert upload_offline_checkins(gate_ctx, gate_actor, gates[0]) == {}
    with ctx.engine.connect() as c:
        rows = c.execute(text("select status, offline from tickets t join checkins k on"
                              " k.ticket_id = t.id where t.order_id = :o"),
                         {"o": order.order_id}).all()
    assert sorted(rows) == [("used", True), ("used", True)]
    for g in [*gates, later]:
        g.close()
