"""A kiosk's login can record a card authorization the gateway never made and sell on it
(the database cannot ask the gateway). The worker reconciles every card order against
the gateway: an invented, too small, reused or cancelled authorization marks the order
``payment_unverified`` and voids its tickets, so the gate REJECTs them; a real sale
reconciles clean. Terminals cannot write a verdict nor clear the mark.

Everything runs on provisioned terminal logins (a kiosk, the worker, a gate, a monitor,
a counter) against one sandbox gateway, as on a casino's floor."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.errors import BoxOfficeError
from core.monitor import snapshot
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.reservation import confirm_in, hold_best_available
from core.sales import CardTender, checkout, refund, tickets_bridge
from core.sales.approvals import SupervisorPin
from core.sales.reconcile import ReconcileJob, reconcile_payments
from core.tickets import GateChecker
from core.uow import unit_of_work
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import actor_for, raw_engine, terminal_context, terminal_settings

EVENT = "COMEDIA-HOJE"  # tonight: inside the gate's window


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(seed=13) as sb:
        yield sb


@pytest.fixture(scope="module")
def floor(provision, sandbox, tmp_path_factory):
    """A kiosk, the worker, a gate, a monitor and a counter, each on its own login, all
    talking to the same sandbox gateway."""
    gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}
    made: dict[str, Any] = {}
    for kind in ("kiosk", "worker", "gate", "monitor", "cashier"):
        t = provision(kind, f"rec-{kind}")
        tmp = tmp_path_factory.mktemp(f"rec-{kind}")
        c = terminal_context(t, tmp, terminal_settings(
            t, tmp, **{f"gateway__{k}": v for k, v in gw.items()}))
        c.gateway = build_gateway(c.settings)
        made[kind] = (t, c)
    yield made
    for _, c in made.values():
        c.gateway.close()
        c.engine.dispose()


def _event(c) -> int:
    with c.engine.connect() as conn:
        return conn.execute(text("select id from events where code = :c"),
                            {"c": EVENT}).scalar_one()


def _forged_sale(floor, intent_id: str) -> tuple[Any, list[int]]:
    """What a thief does with the kiosk's login: a sale row and an 'authorized' payment row
    naming ``intent_id``, committed, then the database's own confirm step and tickets."""
    t, k = floor["kiosk"]
    actor = actor_for(t)
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k), 1)
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
            {"s": sale, "a": h.total_minor, "i": intent_id, "k": f"forged-{sale}"})
    tickets_bridge.prepare(k)
    with unit_of_work(k.engine) as conn:
        order = confirm_in(conn, actor, h.hold_id, intent_id, sale_id=sale,
                           expected_total_minor=h.total_minor)
        serials = list(tickets_bridge.issue(conn, k, actor, order))
    return order, serials


def _check(c, order_id) -> Any:
    with c.engine.connect() as conn:
        return conn.execute(text("select c.result, c.reason, o.status from payment_checks c"
                                 " join orders o on o.id = c.order_id where c.order_id = :o"),
                            {"o": order_id}).one()


def _token(c, serial: int) -> str:
    with c.engine.connect() as conn:
        return conn.execute(text("select token from tickets where serial = :s"),
                            {"s": serial}).scalar_one()


def _gate(floor) -> GateChecker:
    t, g = floor["gate"]
    return GateChecker(g, actor_for(t), "porta-rec")


def _reconcile(floor):
    return reconcile_payments(floor["worker"][1])


def test_an_invented_authorization_is_caught_and_its_ticket_rejected_at_the_gate(floor):
    order, [serial] = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    assert order.order_id  # the database sold it: the gap this closes
    kiosk, worker, monitor = floor["kiosk"][1], floor["worker"][1], floor["monitor"][1]
    assert _check(kiosk, order.order_id) == ("pending", None, "paid")

    rep = reconcile_payments(worker)
    assert str(order.order_id) in rep.unverified_orders and rep.tickets_voided >= 1
    assert _check(kiosk, order.order_id) == ("unverified", "intent_missing",
                                             "payment_unverified")
    with worker.engine.connect() as conn:
        status, why = conn.execute(text("select status, void_reason from tickets"
                                        " where serial = :s"), {"s": serial}).one()
        revoked = conn.execute(text("select count(*) from revocations where serial = :s"),
                               {"s": serial}).scalar_one()
        announced = conn.execute(text("select count(*) from outbox where topic ="
                                      " 'sale.reversed' and payload->>'order_id' = :o"),
                                 {"o": str(order.order_id)}).scalar_one()
    with monitor.engine.connect() as conn:  # the supervisor reads the audit log
        audited = conn.execute(text("select count(*) from audit_log where action ="
                                    " 'payment_unverified' and payload like :o"),
                               {"o": f"%{order.order_id}%"}).scalar_one()
    assert (status, revoked, audited, announced) == ("void", 1, 1, 1)
    assert why.startswith("payment unverified")

    scan = _gate(floor).scan(_token(kiosk, serial), uuid.uuid4())
    assert not scan.accepted and scan.reason == "revoked"
    assert scan.line().startswith("REJECT")

    alerts = [a for a in snapshot(monitor.engine).alerts if a.code == "payment_unverified"]
    assert any(a.data["order"] == order.number and a.terminal == "rec-kiosk" for a in alerts)
    # A second pass changes nothing: the verdict is final.
    assert str(order.order_id) not in _reconcile(floor).unverified_orders


def test_a_real_sandbox_sale_reconciles_clean_and_its_ticket_is_accepted(floor):
    t, k = floor["kiosk"]
    actor = actor_for(t)
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k), 1)
    res = checkout(k, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa", "visa", "4242"))
    assert _check(k, res.order.order_id)[0] == "pending"
    rep = _reconcile(floor)
    assert str(res.order.order_id) not in rep.unverified_orders and rep.ok >= 1
    assert _check(k, res.order.order_id) == ("ok", "captured", "paid")
    scan = _gate(floor).scan(_token(k, res.ticket_serials[0]), uuid.uuid4())
    assert scan.accepted, scan.line()


def test_a_real_intent_of_another_sale_does_not_pay_for_this_one(floor):
    """Reusing a genuine, captured intent (same price) for a second order: its metadata
    names the first sale's hold."""
    t, k = floor["kiosk"]
    actor = actor_for(t)
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k), 1)
    paid = checkout(k, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    order, _ = _forged_sale(floor, str(paid.intent_id))
    _reconcile(floor)
    assert _check(k, order.order_id) == ("unverified", "metadata_mismatch", "payment_unverified")
    assert _check(k, paid.order.order_id)[:2] == ("ok", "captured")


def test_a_one_centavo_authorization_does_not_pay_for_a_ticket(floor):
    """A real authorization, made with the kiosk's own gateway key for 1 centavo, with
    the right metadata; the payment row claims the full price."""
    t, k = floor["kiosk"]
    sale = uuid.uuid4()
    hold_probe = hold_best_available(k, actor_for(t), uuid.uuid4(), _event(k), 1)
    meta = {"sale_id": str(sale), "hold_id": str(hold_probe.hold_id),
            "terminal_id": str(t.terminal_id)}
    intent = k.gateway.authorize(1, "BRL", "pm_card_visa", idempotency_key=f"cheap-{sale}",
                                 metadata=meta)
    order, _ = _forged_sale(floor, intent.id)
    _reconcile(floor)
    assert _check(k, order.order_id)[:2] == ("unverified", "amount_mismatch")


def _authorized_sale(floor) -> tuple[Any, str, uuid.UUID]:
    """A genuine authorization with the right amount and metadata, recorded by the kiosk's
    login and sold on, but never captured (what a login that skips the capture leaves)."""
    t, k = floor["kiosk"]
    actor = actor_for(t)
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k), 1)
    sale = uuid.uuid4()
    intent = k.gateway.authorize(
        h.total_minor, "BRL", "pm_card_visa", idempotency_key=f"real-{sale}",
        metadata={"sale_id": str(sale), "hold_id": str(h.hold_id),
                  "terminal_id": str(t.terminal_id)})
    with raw_engine(t).begin() as conn:
        conn.execute(text(
            "insert into sales (id, key, hold_id, terminal_id, channel, tender, state, version,"
            " amount_minor, currency, attempts, intent_id) values (:s, gen_random_uuid(), :h,"
            " :t, 'kiosk', 'card', 'authorized', 0, :a, 'BRL', 0, :i)"),
            {"s": sale, "h": h.hold_id, "t": t.terminal_id, "a": h.total_minor, "i": intent.id})
        conn.execute(text(
            "insert into payments (sale_id, kind, method, status, amount_minor, currency,"
            " gateway_ref, idempotency_key) values (:s, 'charge', 'card', 'authorized', :a,"
            " 'BRL', :i, :k)"),
            {"s": sale, "a": h.total_minor, "i": intent.id, "k": f"real-{sale}"})
    tickets_bridge.prepare(k)
    with unit_of_work(k.engine) as conn:
        order = confirm_in(conn, actor, h.hold_id, intent.id, sale_id=sale,
                           expected_total_minor=h.total_minor)
        tickets_bridge.issue(conn, k, actor, order)
    return order, intent.id, sale


def test_an_authorization_cancelled_at_the_gateway_after_the_sale(floor):
    """While the authorization stands the order is 'authorized' (checked again every
    pass); voided at the gateway before any capture, it is unverified."""
    k = floor["kiosk"][1]
    order, intent_id, sale = _authorized_sale(floor)
    _reconcile(floor)
    assert _check(k, order.order_id) == ("authorized", "awaiting_capture", "paid")
    k.gateway.void(intent_id, idempotency_key=f"thief-void-{sale}")
    _reconcile(floor)
    assert _check(k, order.order_id) == ("unverified", "intent_canceled", "payment_unverified")


def test_an_authorization_nobody_captures_is_captured_by_the_worker(floor, ctx):
    """A login that never captures would let the authorization lapse after the show: past
    CAPTURE_AFTER_S the worker captures it, and the order is paid for."""
    k = floor["kiosk"][1]
    order, intent_id, _ = _authorized_sale(floor)
    with ctx.engine.begin() as conn:  # the owner's clock trick: sold 6 minutes ago
        conn.execute(text("update payment_checks set due_at = now() - interval '6 minutes'"
                          " where order_id = :o"), {"o": order.order_id})
    _reconcile(floor)
    assert _check(k, order.order_id) == ("ok", "captured", "paid")
    assert k.gateway.lookup(intent_id).status == "succeeded"


def _refused(engine, sql: str, **params) -> str:
    with pytest.raises(DBAPIError) as e, engine.begin() as conn:
        conn.execute(text(sql), params)
    return str(e.value.orig)


@pytest.mark.parametrize("kind", ["kiosk", "cashier", "gate", "monitor"])
def test_terminals_cannot_write_a_verdict_or_clear_the_mark(floor, kind):
    t, c = floor[kind]
    order, _ = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    eng = raw_engine(t)
    assert "permission denied" in _refused(
        eng, "update payment_checks set result = 'ok' where order_id = :o", o=order.order_id)
    assert "permission denied" in _refused(eng, "delete from payment_checks where order_id = :o",
                                           o=order.order_id)
    assert "permission denied" in _refused(
        eng, "insert into payment_checks (order_id, intent_id, hold_id, terminal_id,"
        " amount_minor, currency, result) select id, payment_ref, hold_id, terminal_id,"
        " total_minor, currency, 'ok' from orders where id = :o", o=order.order_id)
    assert "permission denied" in _refused(
        eng, "select * from bo_record_payment_check(:o, 'ok', 'mine', 'succeeded')",
        o=order.order_id)
    assert _check(c, order.order_id)[0] == "pending"
    _reconcile(floor)
    assert _check(c, order.order_id)[0] == "unverified"
    if kind in ("kiosk", "cashier"):  # the kinds that may update an order's status
        for status in ("paid", "refunded", "partially_refunded"):
            msg = _refused(eng, "update orders set status = :s where id = :o", s=status,
                           o=order.order_id)
            assert "status_change_refused" in msg
        assert "status_change_refused" in _refused(
            eng, "update tickets set status = 'valid' where order_id = :o", o=order.order_id)
    assert _check(c, order.order_id)[2] == "payment_unverified"


def test_cancelling_an_unverified_order_keeps_the_verdict(floor):
    """A reversal (refused capture) may still cancel the order: nothing comes back, the
    verdict stays for the monitor and the tickets stay void."""
    order, [serial] = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    _reconcile(floor)
    t, k = floor["kiosk"]
    with raw_engine(t).begin() as conn:
        conn.execute(text("update orders set status = 'canceled' where id = :o"),
                     {"o": order.order_id})
    assert _check(k, order.order_id) == ("unverified", "intent_missing", "canceled")
    assert "status_change_refused" in _refused(
        raw_engine(t), "update orders set status = 'paid' where id = :o", o=order.order_id)
    assert not _gate(floor).scan(_token(k, serial), uuid.uuid4()).accepted
    alerts = snapshot(floor["monitor"][1].engine).alerts
    assert any(a.code == "payment_unverified" and a.data["order"] == order.number
               for a in alerts)


def test_a_terminal_cannot_mark_another_terminals_order_unverified(floor):
    """The mark is the worker's verdict: a counter cannot use it to void a rival's sale."""
    t, k = floor["kiosk"]
    h = hold_best_available(k, actor_for(t), uuid.uuid4(), _event(k), 1)
    res = checkout(k, actor_for(t), uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    ct, _ = floor["cashier"]
    assert "status_change_refused" in _refused(
        raw_engine(ct), "update orders set status = 'payment_unverified' where id = :o",
        o=res.order.order_id)


def test_an_unverified_order_is_not_refunded(floor):
    """No money came in: a counter cannot pay one out for it (API and raw SQL)."""
    order, _ = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    _reconcile(floor)
    t, c = floor["cashier"]
    from core.actors import authenticate
    from core.sales import open_shift

    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    open_shift(c, actor, uuid.uuid4(), 10_000)
    with pytest.raises(BoxOfficeError) as e:
        refund(c, actor, uuid.uuid4(), order.order_id, reason_code="customer_request",
               approver=SupervisorPin("carla", "9999"))
    assert e.value.code == "order_payment_unverified"
    msg = _refused(
        raw_engine(t), "insert into refunds (id, key, order_id, line_ids, method, status,"
        " amount_minor, currency, reason_code, terminal_id) select gen_random_uuid(),"
        " gen_random_uuid(), o.id, array_agg(l.id), 'card', 'pending', o.total_minor,"
        " o.currency, 'other', :t from orders o join order_lines l on l.order_id = o.id"
        " where o.id = :o group by o.id", o=order.order_id, t=t.terminal_id)
    assert "order_payment_unverified" in msg


def test_the_worker_loop_reconciles_on_its_own_interval(floor):
    from core import worker

    assert any(isinstance(j, ReconcileJob) for j in worker.JOBS)
    order, _ = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    job = ReconcileJob(interval_s=3600)
    first = job(floor["worker"][1])
    assert first is not None and str(order.order_id) in first.unverified_orders
    assert job(floor["worker"][1]) is None  # not again before its interval


def test_reconcile_refuses_a_private_sandbox(floor, tmp_path):
    """A worker left on an in-process sandbox (no base_url) knows no intent at all: it
    must not condemn every card sale of the floor."""
    _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    t, _ = floor["worker"]
    c = terminal_context(t, tmp_path, terminal_settings(t, tmp_path, gateway__kind="sandbox"))
    try:
        with pytest.raises(BoxOfficeError) as e:
            reconcile_payments(c)
        assert e.value.code == "reconcile_no_gateway"
    finally:
        c.engine.dispose()


def test_gateway_down_condemns_nothing(floor, tmp_path):
    """Gateway trouble proves nothing about a payment: the order stays pending."""
    t, k = floor["kiosk"]
    h = hold_best_available(k, actor_for(t), uuid.uuid4(), _event(k), 1)
    res = checkout(k, actor_for(t), uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    wt, _ = floor["worker"]
    # Port 9 (discard) on loopback: nothing answers there.
    dead = {**FAST_GATEWAY, "kind": "sandbox", "base_url": "http://127.0.0.1:9",
            "retry_attempts": 1}
    c = terminal_context(wt, tmp_path, terminal_settings(
        wt, tmp_path, **{f"gateway__{k_}": v for k_, v in dead.items()}))
    c.gateway = build_gateway(c.settings)
    try:
        rep = reconcile_payments(c)
    finally:
        c.gateway.close()
        c.engine.dispose()
    assert rep.errors >= 1 and rep.unverified == 0
    assert _check(k, res.order.order_id)[0] == "pending"


def test_the_monitor_says_when_reconciliation_falls_behind(floor, ctx):
    """Card orders nobody checked for over 10 minutes: the worker or the gateway is down."""
    order, _ = _forged_sale(floor, f"pi_invented{uuid.uuid4().hex[:16]}")
    monitor = floor["monitor"][1]
    assert not [a for a in snapshot(monitor.engine).alerts if a.code == "reconcile_behind"]
    with ctx.engine.begin() as conn:  # the owner's clock trick: the sale is 11 minutes old
        conn.execute(text("update payment_checks set due_at = now() - interval '11 minutes'"
                          " where order_id = :o"), {"o": order.order_id})
    [behind] = [a for a in snapshot(monitor.engine).alerts if a.code == "reconcile_behind"]
    assert behind.data["count"] >= 1 and behind.data["seconds"] >= 600
    _reconcile(floor)
    assert not [a for a in snapshot(monitor.engine).alerts if a.code == "reconcile_behind"]


def test_a_reference_that_is_no_intent_id_is_condemned_without_asking(floor):
    """A made-up reference shaped to be a different request in the worker's hands (a path
    under the gateway's API) is not sent: it is not an intent id, so it did not pay."""
    order, [serial] = _forged_sale(floor, "pi_x/../../v1/customers?limit=100&")
    rep = _reconcile(floor)
    assert str(order.order_id) in rep.unverified_orders
    k = floor["kiosk"][1]
    assert _check(k, order.order_id) == ("unverified", "intent_malformed", "payment_unverified")
    assert not _gate(floor).scan(_token(k, serial), uuid.uuid4()).accepted
