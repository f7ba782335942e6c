"""The legitimate path of each terminal kind still works on its own login: a kiosk sells
by card through the sandbox gateway, a cashier sells for cash and refunds with a
supervisor, a gate checks in, the monitor approves a variance, the worker recovers a
sale whose terminal died. And what a login may not approve, it cannot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from core.actors import OperatorInfo, authenticate
from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.reservation import hold_best_available
from core.sales import (
    CardTender,
    CashTender,
    approve_variance,
    checkout,
    close_shift,
    open_shift,
    recover_stuck_sales,
    refund,
)
from core.sales.approvals import SupervisorPin, record_approval
from core.tickets import GateChecker
from core.uow import unit_of_work
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import (
    actor_for,
    operator_id,
    terminal_context,
    terminal_settings,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(seed=11) as sb:
        yield sb


def _pay_overrides(sandbox: SandboxServer) -> dict[str, object]:
    gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}
    return {f"gateway__{k}": v for k, v in gw.items()} | {"sales__stuck_after_s": 0}


@pytest.fixture(scope="module")
def contexts(terminals, sandbox, tmp_path_factory):
    made = {}
    for kind, t in terminals.items():
        tmp = tmp_path_factory.mktemp(kind)
        c = terminal_context(t, tmp, terminal_settings(t, tmp, **_pay_overrides(sandbox)))
        c.gateway = build_gateway(c.settings)
        made[kind] = c
    yield made
    for c in made.values():
        c.gateway.close()
        c.engine.dispose()


def _event(ctx, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()


def test_kiosk_sells_by_card_on_its_own_login(contexts, terminals, sandbox):
    k = contexts["kiosk"]
    actor = actor_for(terminals["kiosk"])
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k, "SINATRA"), 2)
    res = checkout(k, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa", "visa", "4242"))
    assert res.order.total_minor == h.total_minor and len(res.ticket_serials) == 2
    with k.engine.connect() as c:
        assert c.execute(text("select state from sales where id = :i"),
                         {"i": res.sale_id}).scalar_one() == "completed"
        me = c.execute(text("select current_user")).scalar_one()
    assert me == terminals["kiosk"].login


def test_kiosk_cannot_sell_for_cash(contexts, terminals):
    k = contexts["kiosk"]
    actor = actor_for(terminals["kiosk"])
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k, "SINATRA"), 1)
    with pytest.raises(BoxOfficeError):
        checkout(k, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))


@pytest.fixture(scope="module")
def cash_sale(contexts, terminals, ctx):
    c = contexts["cashier"]
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(terminals["cashier"], ana.id, ana.role)
    open_shift(c, actor, uuid.uuid4(), 10_000)
    h = hold_best_available(c, actor, uuid.uuid4(), _event(c, "COMEDIA-HOJE"), 2)
    sale = checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor + 500))
    assert sale.change_minor == 500
    return actor, sale


def test_cashier_sells_for_cash_and_refunds_with_a_supervisor(contexts, cash_sale):
    c = contexts["cashier"]
    actor, sale = cash_sale
    line = sale.order.lines[-1]
    r = refund(c, actor, uuid.uuid4(), sale.order.order_id, reason_code="customer_request",
               line_ids=[line.line_id], approver=SupervisorPin("carla", "9999"))
    assert r.status == "succeeded" and r.tickets_voided == 1


def test_gate_checks_in_on_its_own_login(contexts, terminals, cash_sale):
    g = contexts["gate"]
    _, sale = cash_sale
    with g.engine.connect() as c:
        token = c.execute(text("select token from tickets where order_id = :o and status ="
                               " 'valid' order by serial limit 1"),
                          {"o": sale.order.order_id}).scalar_one()
    gate = GateChecker(g, actor_for(terminals["gate"]), "North")
    assert gate.scan(token, uuid.uuid4()).accepted
    assert gate.scan(token, uuid.uuid4()).reason == "already_used"


def test_an_approval_without_a_typed_pin_is_refused(contexts, terminals, ctx):
    """A caller-built OperatorInfo (no proof from the database) approves nothing."""
    c = contexts["cashier"]
    carla = operator_id(ctx.engine, "carla")
    forged = OperatorInfo(carla, "carla", "Carla", "supervisor")
    actor = actor_for(terminals["cashier"], operator_id(ctx.engine, "ana"), "cashier")
    with pytest.raises(BoxOfficeError) as e, unit_of_work(c.engine) as conn:
        record_approval(conn, actor, forged, "refund", "other", "order", uuid.uuid4(), 100)
    assert e.value.code == "database_refused"
    # A real sign-in yields a proof that is good once.
    real = authenticate(c.engine, "carla", "9999")
    assert real.proof is not None
    with unit_of_work(c.engine) as conn:
        record_approval(conn, actor, real, "refund", "other", "order", uuid.uuid4(), 100)
    with pytest.raises(BoxOfficeError), unit_of_work(c.engine) as conn:
        record_approval(conn, actor, real, "refund", "other", "order", uuid.uuid4(), 100)


def test_nobody_approves_their_own_request_from_any_face(contexts, terminals, ctx):
    c = contexts["cashier"]
    carla = authenticate(c.engine, "carla", "9999")
    actor = actor_for(terminals["cashier"], carla.id, carla.role)
    with pytest.raises(BoxOfficeError) as e, unit_of_work(c.engine) as conn:
        record_approval(conn, actor, carla, "refund", "other", "order", uuid.uuid4(), 100)
    assert e.value.code == "self_approval"


def test_monitor_cannot_approve_the_shift_of_the_supervisor_signed_in(contexts, terminals,
                                                                       ctx, tmp_path):
    """The supervisor counted her own drawer short; the monitor's actor has no operator,
    but the database knows whose shift it is."""
    from core.provisioning import provision_terminal

    t = provision_terminal(ctx.engine, "sec-counter-carla", "cashier")
    try:
        counter = terminal_context(t, tmp_path)
        carla = authenticate(counter.engine, "carla", "9999")
        actor = actor_for(t, carla.id, carla.role)
        shift = open_shift(counter, actor, uuid.uuid4(), 10_000)
        closed = close_shift(counter, actor, uuid.uuid4(), 1_000)  # 9,000 short
        assert closed.status == "pending_approval"
        monitor = contexts["monitor"]
        with pytest.raises(BoxOfficeError) as e:
            approve_variance(monitor, actor_for(terminals["monitor"]), uuid.uuid4(),
                             shift.shift_id, SupervisorPin("carla", "9999"), "counting_error")
        assert e.value.code == "self_approval"
        counter.engine.dispose()
    finally:
        from core.provisioning import drop_login

        drop_login(ctx.engine, t.login)


def test_monitor_approves_a_cashiers_variance(contexts, terminals, provision, tmp_path):
    t = provision("cashier", "sec-counter-bruno")
    c = terminal_context(t, tmp_path)
    bruno = authenticate(c.engine, "bruno", "2345")
    actor = actor_for(t, bruno.id, bruno.role)
    shift = open_shift(c, actor, uuid.uuid4(), 10_000)
    assert close_shift(c, actor, uuid.uuid4(), 2_000).status == "pending_approval"
    done = approve_variance(contexts["monitor"], actor_for(terminals["monitor"]), uuid.uuid4(),
                            shift.shift_id, SupervisorPin("carla", "9999"), "counting_error")
    assert done.status == "closed"
    c.engine.dispose()


def test_supervisor_signed_in_at_the_monitor_approves_a_cashiers_variance(
        contexts, terminals, provision, tmp_path):
    """At the monitor the acting supervisor is the approver: the one who may not approve
    is the cashier whose shift it is, not the supervisor signed in there."""
    t = provision("cashier", "sec-counter-bruno-2")
    c = terminal_context(t, tmp_path)
    bruno = authenticate(c.engine, "bruno", "2345")
    actor = actor_for(t, bruno.id, bruno.role)
    shift = open_shift(c, actor, uuid.uuid4(), 10_000)
    assert close_shift(c, actor, uuid.uuid4(), 2_000).status == "pending_approval"
    monitor = contexts["monitor"]
    carla = authenticate(monitor.engine, "carla", "9999")
    signed_in = actor_for(terminals["monitor"], carla.id, carla.role)
    done = approve_variance(monitor, signed_in, uuid.uuid4(), shift.shift_id,
                            SupervisorPin("carla", "9999"), "counting_error")
    assert done.status == "closed"
    with c.engine.connect() as conn:
        req, appr = conn.execute(text(
            "select requested_by, approved_by from approvals where entity_id = :s"),
            {"s": str(shift.shift_id)}).one()
    assert (req, appr) == (bruno.id, carla.id)
    c.engine.dispose()


def test_worker_recovers_a_sale_whose_kiosk_died(contexts, terminals, sandbox):
    k = contexts["kiosk"]
    actor = actor_for(terminals["kiosk"])
    h = hold_best_available(k, actor, uuid.uuid4(), _event(k, "MAGICA"), 1)
    key = uuid.uuid4()
    settings = k.settings.model_dump(mode="json")
    settings["database"]["url"] = k.settings.database.url.get_secret_value()
    settings["gateway"]["secret_key"] = None
    payload = {"settings": settings, "db_url": settings["database"]["url"],
               "terminal_id": actor.terminal_id, "terminal_name": actor.terminal_name,
               "key": str(key), "hold_id": str(h.hold_id)}
    proc = subprocess.run([sys.executable, "-m", "tests.payments.crash_child",
                           json.dumps(payload)], cwd=ROOT,
                          env={**os.environ, "BOXOFFICE_TEST_CRASH_AT": "after_confirm"},
                          capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    w = contexts["worker"]
    rep = recover_stuck_sales(w, older_than_s=0)
    assert rep.completed >= 1 and rep.still_stuck == 0
    with w.engine.connect() as c:
        assert c.execute(text("select state from sales where key = :k"),
                         {"k": key}).scalar_one() == "completed"


def test_reprints_after_the_first_need_a_real_supervisor(contexts, terminals, cash_sale, ctx):
    from core.tickets.views import authorize_reprint

    c = contexts["cashier"]
    actor, _ = cash_sale
    h = hold_best_available(c, actor, uuid.uuid4(), _event(c, "COMEDIA-HOJE"), 1)
    sale = checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    [serial] = sale.ticket_serials
    authorize_reprint(c, actor, uuid.uuid4(), serial)  # the first copy: the cashier's call
    carla = operator_id(ctx.engine, "carla")
    forged = OperatorInfo(carla, "carla", "Carla", "supervisor")
    with pytest.raises(BoxOfficeError) as e:
        authorize_reprint(c, actor, uuid.uuid4(), serial, supervisor=forged)
    assert e.value.code == "database_refused"
    # Nor around the function: the column grant alone does not allow a second copy.
    with pytest.raises(Exception, match="supervisor"), c.engine.begin() as conn:
        conn.execute(text("update tickets set reprint_count = 5 where serial = :s"),
                     {"s": serial})
    real = authenticate(c.engine, "carla", "9999")
    view = authorize_reprint(c, actor, uuid.uuid4(), serial, supervisor=real)
    assert view.reprint_count == 2


def test_cashier_takes_a_lease_sells_from_it_offline_and_returns_it(contexts, terminals,
                                                                     provision, tmp_path):
    from core.leases import LeasedSale, confirm_leased_sale, return_lease, take_lease
    from tests.sync.helpers import seats_of

    t = provision("cashier", "sec-counter-lease")
    c = terminal_context(t, tmp_path)
    actor = actor_for(t)
    ev = _event(c, "SINATRA")
    seats = seats_of(c.engine, ev, "BAL")[-3:]
    # A lease needs a supervisor's PIN typed on this login (0014).
    info = take_lease(c, actor, uuid.uuid4(), ev, seat_ids=seats,
                      approver=authenticate(c.engine, "carla", "9999"))
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=info.seats[0].unit_price_minor, currency=info.currency,
                      payment_method="cash", seat_ids=(seats[0],))
    assert confirm_leased_sale(c, actor, uuid.uuid4(), sale).order_id == sale.order_id
    # Another counter cannot sell from it, nor return it.
    other = contexts["cashier"]
    with pytest.raises(BoxOfficeError):
        confirm_leased_sale(other, actor_for(terminals["cashier"]), uuid.uuid4(),
                            replace_seat(sale, seats[1]))
    assert return_lease(c, actor, uuid.uuid4(), info.lease_id).returned_units == 2
    c.engine.dispose()


def replace_seat(sale, seat_id: int):
    from dataclasses import replace

    return replace(sale, order_id=uuid.uuid4(), seat_ids=(seat_id,))


def test_monitor_reads_its_dashboard_pauses_and_overrides_a_price(contexts, terminals, ctx):
    from core import monitor
    from core.catalog import set_event_status
    from core.pricing import override_price

    m = contexts["monitor"]
    actor = actor_for(terminals["monitor"])
    snap = monitor.snapshot(m.engine)
    assert snap is not None
    ev = _event(m, "MAGICA")
    with unit_of_work(m.engine) as conn:
        set_event_status(conn, actor, ev, "paused")
    with unit_of_work(m.engine) as conn:
        set_event_status(conn, actor, ev, "on_sale")
    with m.engine.connect() as conn:
        tier = conn.execute(text("select id, floor_minor from price_tiers where event_id = :e"
                                 " limit 1"), {"e": ev}).one()
    override_price(m, actor, uuid.uuid4(), tier.id, tier.floor_minor,
                   SupervisorPin("carla", "9999"), "other")
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select current_minor from price_tiers where id = :t"),
                            {"t": tier.id}).scalar_one() == tier.floor_minor


def test_worker_sweeps_holds_and_reprices_and_terminals_beat(contexts, terminals):
    from core.heartbeat import beat
    from core.pricing import apply_pricing
    from core.reservation.expiry import expire_holds

    w = contexts["worker"]
    actor = actor_for(terminals["worker"])
    expire_holds(w, actor)
    apply_pricing(w, actor)
    for kind in ("kiosk", "cashier", "gate", "monitor", "worker"):
        beat(contexts[kind].engine, terminals[kind].terminal_id, {"ok": True})


def test_kiosk_general_admission_and_release_on_its_own_login(contexts, terminals):
    from core.kiosk import release_terminal_holds
    from core.reservation import availability, hold_general_admission

    k = contexts["kiosk"]
    actor = actor_for(terminals["kiosk"])
    ev = _event(k, "POKER-OPEN")
    section = availability(k.engine, ev).ga[0].section_id
    hold_general_admission(k, actor, uuid.uuid4(), ev, section, 2)
    assert release_terminal_holds(k, actor, uuid.uuid4()) >= 1
