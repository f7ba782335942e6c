"""The forged ticket's window (issue 11, migration 0019). Before, a ticket of a card order
with an invented authorization got in when scanned before the worker's next 15 s pass.
Now the database notifies the worker the moment a check is due (a woken pass settles it
within a gateway round trip), and meanwhile a gate answers "verifying" (not accepted, not
used) for a card order whose check is pending and younger than
``bo_settings.checkin_verify_within_s``; older than that, gateway trouble must not turn a
paying guest away: the ticket is admitted and the monitor says reconciliation is behind.

Card orders confirmed before migration 0013 owed no check: the backfill gives them one,
checked by the rules of their day (no metadata), so a real old sale keeps its tickets
and one with no intent at the gateway loses them.

Everything runs on provisioned logins (kiosk, worker, gate, monitor) and one sandbox
gateway; the owner's engine (``ctx``) only plays the clock and the migration."""

from __future__ import annotations

import importlib.util
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.monitor import snapshot
from core.payments.gateway import Intent
from core.reservation import confirm_in, hold_best_available
from core.sales import CardTender, checkout, tickets_bridge
from core.sales.reconcile import ReconcileReport, ReconcileWaker, verdict
from core.tickets.checkin import ScanResult
from core.tickets.offline import OfflineGate, export_snapshot
from core.uow import unit_of_work
from tests.security import test_reconcile as rec
from tests.security.conftest import actor_for, raw_engine

# The same floor of logins and sandbox gateway as the reconciliation tests (fixtures).
sandbox = rec.sandbox
floor = rec.floor
_check, _event, _forged_sale, _gate, _token = (rec._check, rec._event, rec._forged_sale,
                                               rec._gate, rec._token)

MIGRATION = (Path(__file__).resolve().parents[2]
             / "core/db/migrations/versions/0019_reconcile_window.py")


def _ticket(c: Any, serial: int) -> tuple[str, int]:
    with c.engine.connect() as conn:
        status = conn.execute(text("select status from tickets where serial = :s"),
                              {"s": serial}).scalar_one()
        checkins = conn.execute(text("select count(*) from checkins where serial = :s"),
                                {"s": serial}).scalar_one()
    return status, int(checkins)


def _real_sale(floor: Any) -> Any:
    t, k = floor["kiosk"]
    h = hold_best_available(k, actor_for(t), uuid.uuid4(), _event(k), 1)
    return checkout(k, actor_for(t), uuid.uuid4(), h.hold_id,
                    CardTender("pm_card_visa", "visa", "4242"))


def _age(ctx: Any, order_id: Any, seconds: int) -> None:
    """The owner's clock trick: the sale was made ``seconds`` ago."""
    with ctx.engine.begin() as conn:
        conn.execute(text("update payment_checks set due_at = now() - make_interval(secs => :s)"
                          " where order_id = :o"), {"s": seconds, "o": order_id})


def _worker_pass(floor: Any) -> ReconcileReport:
    from core.sales.reconcile import reconcile_payments

    return reconcile_payments(floor["worker"][1])


def test_a_forged_ticket_scanned_at_once_waits_and_is_rejected_after_the_pass(floor):
    _, [serial] = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    k = floor["kiosk"][1]
    gate = _gate(floor)
    first = gate.scan(_token(k, serial), uuid.uuid4())
    assert (first.accepted, first.reason, first.waiting) == (False, "verifying", True)
    assert first.line().startswith("WAIT verifying: Payment being verified")
    assert "Não deixe entrar" in first.message("pt-BR")
    assert _ticket(k, serial) == ("valid", 0)  # not used, no check-in row
    _worker_pass(floor)
    second = gate.scan(_token(k, serial), uuid.uuid4())
    assert (second.accepted, second.reason) == (False, "revoked")
    assert second.line().startswith("REJECT revoked")


def test_a_real_sale_scanned_at_once_waits_and_is_accepted_after_the_pass(floor):
    res = _real_sale(floor)
    k = floor["kiosk"][1]
    token = _token(k, res.ticket_serials[0])
    gate = _gate(floor)
    assert gate.scan(token, uuid.uuid4()).reason == "verifying"
    _worker_pass(floor)
    assert _check(k, res.order.order_id)[:2] == ("ok", "captured")
    ok = gate.scan(token, uuid.uuid4())
    assert ok.accepted, ok.line()
    assert _ticket(k, res.ticket_serials[0]) == ("used", 1)


def test_with_the_worker_down_a_ticket_is_admitted_after_the_bound(floor, ctx):
    """Nobody checks (the worker is stopped): past the bound the guest gets in, and the
    monitor says the checks are behind."""
    res = _real_sale(floor)
    k, monitor = floor["kiosk"][1], floor["monitor"][1]
    token = _token(k, res.ticket_serials[0])
    assert _gate(floor).scan(token, uuid.uuid4()).reason == "verifying"
    _age(ctx, res.order.order_id, 11 * 60)
    ok = _gate(floor).scan(token, uuid.uuid4())
    assert ok.accepted, ok.line()
    assert _check(k, res.order.order_id)[0] == "pending"
    assert [a for a in snapshot(monitor.engine).alerts if a.code == "reconcile_behind"]
    _worker_pass(floor)  # the worker is back: the real sale is fine


def test_the_bound_is_the_owners_setting_and_no_terminals(floor, ctx):
    res = _real_sale(floor)
    k = floor["kiosk"][1]
    for kind in ("kiosk", "gate", "cashier", "worker", "monitor"):
        eng = raw_engine(floor[kind][0])
        with pytest.raises(DBAPIError) as e, eng.begin() as conn:
            conn.execute(text("update bo_settings set value = '0'"
                              " where name = 'checkin_verify_within_s'"))
        assert "permission denied" in str(e.value.orig)
        eng.dispose()
    with ctx.engine.begin() as conn:
        conn.execute(text("update bo_settings set value = '0'"
                          " where name = 'checkin_verify_within_s'"))
    try:
        assert _gate(floor).scan(_token(k, res.ticket_serials[0]), uuid.uuid4()).accepted
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(text("update bo_settings set value = '60'"
                              " where name = 'checkin_verify_within_s'"))
    _worker_pass(floor)


def test_the_database_wakes_the_worker_when_a_check_falls_due(floor):
    """No 15 s pass to wait for: the sale's commit notifies the worker, whose woken pass
    voids the forged sale's tickets within a gateway round trip."""
    w = floor["worker"][1]
    waker = ReconcileWaker(w).start()
    try:
        base = waker.passes
        t0 = time.monotonic()
        order, [serial] = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
        committed = time.monotonic()
        k = floor["kiosk"][1]
        n = base
        while _check(k, order.order_id)[0] == "pending":
            n += 1
            assert waker.wait_for_passes(n, timeout_s=10), "no woken pass"
        settled = time.monotonic()
        assert _check(k, order.order_id) == ("unverified", "intent_missing",
                                             "payment_unverified")
        print(f"sale {committed - t0:.3f}s, commit -> verdict {settled - committed:.3f}s")
        assert settled - committed < 5.0
        assert _gate(floor).scan(_token(k, serial), uuid.uuid4()).reason == "revoked"
    finally:
        waker.stop()


def test_a_flood_of_notifications_is_only_a_hint(floor):
    """Any login can NOTIFY the channel: a kiosk sending 200 wakes the worker a few times
    (one pass per gap), settles nothing it should not and looks nothing up twice."""
    w = floor["worker"][1]
    seen: list[ReconcileReport] = []
    waker = ReconcileWaker(w, min_gap_s=0.2, on_pass=seen.append).start()
    try:
        res = _real_sale(floor)
        k = floor["kiosk"][1]
        n = waker.passes
        while _check(k, res.order.order_id)[0] == "pending":
            n += 1
            assert waker.wait_for_passes(n, timeout_s=10)
        before, looked = waker.passes, sum(r.examined for r in seen)
        eng = raw_engine(floor["kiosk"][0])
        t0 = time.monotonic()
        with eng.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for i in range(200):
                conn.execute(text("select pg_notify('bo_reconcile_due', :p)"), {"p": str(i)})
        sent_s = time.monotonic() - t0
        eng.dispose()
        assert waker.wait_for_passes(before + 1, timeout_s=10)
        # Nothing marks the storm's end: count the passes of the second after it.
        waker.wait_for_passes(before + 10_000, timeout_s=1.0)
        woken = waker.passes - before
        print(f"200 notifications in {sent_s:.3f}s woke {woken} passes")
        assert woken <= 3 + sent_s / 0.2  # one per gap, not one per notification
        assert sum(r.examined for r in seen) == looked  # no gateway lookup for a hint
        assert _check(k, res.order.order_id)[0] in ("ok", "authorized")
    finally:
        waker.stop()


def test_an_offline_gate_says_verifying_until_the_bound(floor, ctx, tmp_path):
    from datetime import UTC, datetime, timedelta

    res = _real_sale(floor)
    k = floor["kiosk"][1]
    snap = export_snapshot(floor["gate"][1].engine)
    assert str(res.ticket_serials[0]) in snap["verifying"]
    assert snap["verify_within_s"] == 60
    now = [datetime.now(UTC)]
    gate = OfflineGate(snap, tmp_path / "store.db", "OFF", clock=lambda: now[0],
                       opens_before=timedelta(days=3))
    try:
        token = _token(k, res.ticket_serials[0])
        wait = gate.scan(token, uuid.uuid4())
        assert wait.reason == "verifying" and wait.line().startswith("WAIT")
        now[0] += timedelta(seconds=61)
        assert gate.scan(token, uuid.uuid4()).accepted
    finally:
        gate.close()
    _worker_pass(floor)


def test_the_rules_of_a_pre_0013_check_leave_out_the_metadata():
    """The difference in one place: an intent with no metadata fails today's rules and
    passes those of the orders sold before the checks existed."""
    row = SimpleNamespace(intent_id="pi_old", amount_minor=1000, currency="BRL",
                          hold_id=uuid.uuid4(), terminal_id=1, age_s=10, order_status="paid",
                          refunded_minor=0, rules="current", order_id=uuid.uuid4())
    intent = Intent("pi_old", "succeeded", 1000, "brl", amount_received_minor=1000)
    assert verdict(row, intent, False).reason == "metadata_mismatch"
    row.rules = "pre_0013"
    assert verdict(row, intent, False) == verdict(row, intent, False)
    assert verdict(row, intent, False).result == "ok"
    assert verdict(row, Intent("pi_old", "succeeded", 900, "brl"), False).reason \
        == "amount_mismatch"
    assert verdict(row, intent, False, taken=True).reason == "intent_reused"


def _old_sale(floor: Any, ctx: Any, real: bool) -> tuple[Any, int]:
    """An order as sold before migration 0013: paid by a real captured intent without
    today's metadata (or by one the gateway never made), and no check row (the owner
    removes the one the trigger wrote, as if it had never been written)."""
    t, k = floor["kiosk"]
    actor = actor_for(t)
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k), 1)
    if real:
        intent = k.gateway.authorize(h.total_minor, "BRL", "pm_card_visa",
                                     idempotency_key=f"old-{uuid.uuid4()}")
        intent_id = k.gateway.capture(intent.id, idempotency_key=f"old-cap-{intent.id}").id
    else:
        intent_id = f"pi_lost{uuid.uuid4().hex[:16]}"
    sale = uuid.uuid4()
    with raw_engine(t).begin() as conn:
        conn.execute(text(
            "insert into sales (id, key, hold_id, terminal_id, channel, tender, state, version,"
            " amount_minor, currency, attempts, intent_id) values (:s, gen_random_uuid(), :h,"
            " :t, 'kiosk', 'card', 'authorized', 0, :a, 'BRL', 0, :i)"),
            {"s": sale, "h": h.hold_id, "t": t.terminal_id, "a": h.total_minor, "i": intent_id})
        conn.execute(text(
            "insert into payments (sale_id, kind, method, status, amount_minor, currency,"
            " gateway_ref, idempotency_key) values (:s, 'charge', 'card', 'authorized', :a,"
            " 'BRL', :i, :k)"),
            {"s": sale, "a": h.total_minor, "i": intent_id, "k": f"old-{sale}"})
    tickets_bridge.prepare(k)
    with unit_of_work(k.engine) as conn:
        order = confirm_in(conn, actor, h.hold_id, intent_id, sale_id=sale,
                           expected_total_minor=h.total_minor)
        [serial] = list(tickets_bridge.issue(conn, k, actor, order))
    with ctx.engine.begin() as conn:
        conn.execute(text("delete from payment_checks where order_id = :o"),
                     {"o": order.order_id})
    return order, serial


def test_backfill_checks_old_card_orders_by_the_rules_of_their_day(floor, ctx):
    k = floor["kiosk"][1]
    good, good_serial = _old_sale(floor, ctx, real=True)
    gone, gone_serial = _old_sale(floor, ctx, real=False)
    spec = importlib.util.spec_from_file_location("m0019", MIGRATION)
    assert spec is not None and spec.loader is not None
    mig = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mig)
    with ctx.engine.begin() as conn:
        conn.execute(text(mig.BACKFILL))
        rules = dict(conn.execute(text(
            "select order_id, rules from payment_checks where order_id in (:a, :b)"),
            {"a": good.order_id, "b": gone.order_id}).all())
    assert rules == {good.order_id: "pre_0013", gone.order_id: "pre_0013"}
    _worker_pass(floor)
    assert _check(k, good.order_id) == ("ok", "captured", "paid")
    assert _check(k, gone.order_id) == ("unverified", "intent_missing", "payment_unverified")
    assert _ticket(k, good_serial)[0] == "valid"
    assert _ticket(k, gone_serial)[0] == "void"
    # An old order is admitted at once: its check is not a sale of the last minute.
    assert _gate(floor).scan(_token(k, good_serial), uuid.uuid4()).accepted


def test_a_verifying_answer_round_trips_through_the_scan_log():
    r = ScanResult(False, "verifying", 5, 1)
    assert ScanResult.from_json(r.to_json()).waiting
    assert not ScanResult(False, "revoked", 5, 1).waiting
