"""An event cancel's refunds under roles (migration 0017): only an admin login may call
``bo_cancel_refund_order`` and ``bo_cancel_refund_settled``; with them an admin refunds
the orders of a canceled show once each, and nothing else: not an order of another
event, not an order twice, not a show that is not canceled, not for a cashier's name.
The cancel itself (core.backoffice.cancel) runs on the admin login; here the console has
no card gateway configured (the back-office machine need hold no card secret), so its
card refunds wait, pending, for the worker, which sends them on its own login."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import authenticate, create_operator
from core.backoffice.cancel import cancel_event, refund_key
from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, open_shift, recover_stuck_sales
from core.uow import unit_of_work
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import (
    actor_for,
    operator_id,
    raw_engine,
    terminal_context,
    terminal_settings,
)

CANCELED = "MAGICA"
OTHER = "SINATRA"
_REFUND = text("select * from bo_cancel_refund_order(:e, :o, :k, :t, :op)")
_SETTLED = text("select bo_cancel_refund_settled(:r, 'rf_fake', :t, :op)")


def _event(ctx, code: str) -> int:
    with ctx.engine.connect() as c:
        return int(c.execute(text("select id from events where code = :c"),
                             {"c": code}).scalar_one())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=17) as sb:
        yield sb


def _paying(t, tmp, sandbox: SandboxServer):
    gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}
    c = terminal_context(t, tmp, terminal_settings(
        t, tmp, **{f"gateway__{k}": v for k, v in gw.items()}))
    c.gateway = build_gateway(c.settings)
    return c


@pytest.fixture(scope="module")
def admin(provision, tmp_path_factory):
    t = provision("admin", "sec-cancel-admin")
    tmp = tmp_path_factory.mktemp("cancel-admin")
    c = terminal_context(t, tmp, terminal_settings(t, tmp, gateway__kind="none"))
    carla = authenticate(c.engine, "carla", "9999")
    yield t, c, actor_for(t, carla.id, carla.role)
    c.engine.dispose()


@pytest.fixture(scope="module")
def sold(ctx, provision, tmp_path_factory, admin, terminals,
         sandbox) -> dict[str, list[uuid.UUID]]:
    """Three cash orders on each show, sold at a counter on its own login, and two card
    orders of the show to cancel, sold at a kiosk on its own; then the admin cancels
    that show."""
    t = provision("cashier", "sec-cancel-counter")
    c = terminal_context(t, tmp_path_factory.mktemp("cancel-counter"))
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    open_shift(c, actor, uuid.uuid4(), 50_000)
    orders: dict[str, list[uuid.UUID]] = {}
    for code in (CANCELED, OTHER):
        for n in (1, 2, 1):
            h = hold_best_available(c, actor, uuid.uuid4(), _event(ctx, code), n)
            sale = checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
            orders.setdefault(code, []).append(sale.order.order_id)
    c.engine.dispose()
    k = _paying(terminals["kiosk"], tmp_path_factory.mktemp("cancel-kiosk"), sandbox)
    try:
        for _ in range(2):
            h = hold_best_available(k, actor_for(terminals["kiosk"]), uuid.uuid4(),
                                    _event(ctx, CANCELED), 1)
            sale = checkout(k, actor_for(terminals["kiosk"]), uuid.uuid4(), h.hold_id,
                            CardTender("pm_card_visa", "visa", "4242"))
            orders.setdefault("card", []).append(sale.order.order_id)
    finally:
        k.gateway.close()
        k.engine.dispose()
    summary = _cancel(admin)
    assert summary.count("owed", "cash") == 3 and summary.count("pending", "card") == 2
    assert not summary.complete and all(o.error is None for o in summary.orders)
    return orders


def _cancel(admin, code: str = CANCELED):
    """The admin console's cancel of ``code``, carla typing her PIN there to sign it."""
    _, ac, who = admin
    return cancel_event(ac, who, uuid.uuid4(), code, reason="sec test",
                        signed_in=authenticate(ac.engine, "carla", "9999"))


def _state(ctx, order_id: uuid.UUID) -> tuple[Any, ...]:
    with ctx.engine.connect() as c:
        return (
            c.execute(text("select status from orders where id = :o"), {"o": order_id})
            .scalar_one(),
            tuple(c.execute(text("select status from order_lines where order_id = :o"
                                 " order by id"), {"o": order_id}).scalars()),
            tuple(c.execute(text("select status from tickets where order_id = :o"
                                 " order by serial"), {"o": order_id}).scalars()),
            c.execute(text("select count(*) from refunds where order_id = :o"),
                      {"o": order_id}).scalar_one(),
        )


def _refused(engine, sql, params) -> str:
    with pytest.raises(DBAPIError) as e, engine.begin() as conn:
        conn.execute(sql, params)
    return str(e.value.orig)


@pytest.mark.parametrize("kind", ("cashier", "kiosk", "monitor", "gate", "worker"))
def test_no_other_kind_may_call_the_cancel_functions(ctx, terminals, sold, kind):
    t = terminals[kind]
    engine = raw_engine(t)
    carla = operator_id(ctx.engine, "carla")
    order = sold[CANCELED][0]
    other = sold[OTHER][0]
    before = _state(ctx, other)
    try:
        for sql, params in (
                (_REFUND, {"e": _event(ctx, OTHER), "o": other, "k": uuid.uuid4(),
                           "t": t.terminal_id, "op": carla}),
                (_REFUND, {"e": _event(ctx, CANCELED), "o": order, "k": uuid.uuid4(),
                           "t": t.terminal_id, "op": carla}),
                (_SETTLED, {"r": uuid.uuid4(), "t": t.terminal_id, "op": carla}),
                (text("select bo_cancel_caller(:t, :op)"), {"t": t.terminal_id, "op": carla}),
                (text("insert into bo_cancel_refunds (order_id, refund_id, event_id,"
                      " terminal_id) values (:o, gen_random_uuid(), :e, :t)"),
                 {"o": other, "e": _event(ctx, OTHER), "t": t.terminal_id})):
            assert "permission denied" in _refused(engine, sql, params)
    finally:
        engine.dispose()
    assert _state(ctx, other) == before


def test_an_admin_refunds_no_order_of_a_show_that_is_not_canceled(ctx, admin, sold):
    t, _, who = admin
    engine = raw_engine(t)
    other = sold[OTHER][1]
    before = _state(ctx, other)
    assert before[0] == "paid" and set(before[2]) == {"valid"}
    try:
        # Named with the canceled show: not that show's order.
        assert "unknown_order" in _refused(engine, _REFUND, {
            "e": _event(ctx, CANCELED), "o": other, "k": uuid.uuid4(), "t": t.terminal_id,
            "op": who.operator_id})
        # Named with its own show: that show is on sale, its tickets stay valid.
        assert "event_not_canceled" in _refused(engine, _REFUND, {
            "e": _event(ctx, OTHER), "o": other, "k": uuid.uuid4(), "t": t.terminal_id,
            "op": who.operator_id})
        # Nor by hand: the admin login writes no ticket, line, order or refund itself.
        for sql in ("update tickets set status = 'void' where order_id = :o",
                    "update order_lines set status = 'refunded' where order_id = :o",
                    "update orders set status = 'refunded' where id = :o",
                    "insert into revocations (serial, ticket_id, event_id, reason, terminal_id)"
                    " select serial, id, event_id, 'x', terminal_id from tickets"
                    " where order_id = :o",
                    "insert into refunds (id, key, order_id, line_ids, method, status,"
                    " amount_minor, currency, reason_code, terminal_id) values"
                    " (gen_random_uuid(), gen_random_uuid(), :o, '{}', 'cash', 'owed', 1,"
                    " 'BRL', 'event_canceled', 1)"):
            assert "permission denied" in _refused(engine, text(sql), {"o": other})
    finally:
        engine.dispose()
    assert _state(ctx, other) == before


def test_an_order_is_refunded_once_whatever_the_key(ctx, admin, sold):
    t, _, who = admin
    order = sold[CANCELED][1]
    before = _state(ctx, order)
    assert before[0] == "refunded" and before[3] == 1
    with ctx.engine.connect() as c:
        first = c.execute(text("select id, key, amount_minor, status from refunds"
                               " where order_id = :o"), {"o": order}).one()
    assert first.key == refund_key(order) and first.status == "owed"
    engine = raw_engine(t)
    try:
        for k in (refund_key(order), uuid.uuid4()):
            with engine.begin() as conn:
                again = conn.execute(_REFUND, {"e": _event(ctx, CANCELED), "o": order, "k": k,
                                               "t": t.terminal_id,
                                               "op": who.operator_id}).one()
            assert (again.outcome, again.refund_id) == ("exists", first.id)
        # Another order's refund key is not taken over for this one.
        assert "idempotency_conflict" in _refused(engine, _REFUND, {
            "e": _event(ctx, CANCELED), "o": sold[CANCELED][2], "k": refund_key(order),
            "t": t.terminal_id, "op": who.operator_id})
        # An owed cash refund is not "settled" by a card answer.
        with engine.begin() as conn:
            assert conn.execute(_SETTLED, {"r": first.id, "t": t.terminal_id,
                                           "op": who.operator_id}).scalar_one() is False
    finally:
        engine.dispose()
    # The whole cancel again: nothing more.
    again = _cancel(admin)
    assert again.count("owed", "cash") == 3 and len(again.orders) == 5
    assert _state(ctx, order) == before
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from refunds where id = :r"),
                         {"r": first.id}).scalar_one() == "owed"
        per_order = c.execute(text("select count(*) from refunds r join orders o on"
                                   " o.id = r.order_id where o.event_id = :e group by r.order_id"),
                              {"e": _event(ctx, CANCELED)}).scalars().all()
    assert per_order == [1] * 5


def test_the_canceling_operator_is_a_supervisor_and_the_terminal_the_callers(ctx, admin, sold,
                                                                            terminals):
    t, _, _ = admin
    engine = raw_engine(t)
    params = {"e": _event(ctx, CANCELED), "o": sold[CANCELED][0], "k": uuid.uuid4()}
    try:
        assert "not_authorized" in _refused(engine, _REFUND, {
            **params, "t": t.terminal_id, "op": operator_id(ctx.engine, "ana")})
        assert "foreign_terminal" in _refused(engine, _REFUND, {
            **params, "t": terminals["cashier"].terminal_id,
            "op": operator_id(ctx.engine, "carla")})
    finally:
        engine.dispose()


def test_the_worker_sends_the_card_refunds_a_console_without_a_gateway_left(
        ctx, admin, sold, terminals, sandbox, tmp_path_factory):
    with ctx.engine.connect() as c:
        pending = c.execute(text("select r.id, o.payment_ref, r.amount_minor from refunds r"
                                 " join orders o on o.id = r.order_id where r.order_id = any(:o)"
                                 " and r.status = 'pending'"), {"o": sold["card"]}).all()
    assert len(pending) == 2
    w = _paying(terminals["worker"], tmp_path_factory.mktemp("cancel-worker"), sandbox)
    try:
        report = recover_stuck_sales(w, older_than_s=0)
    finally:
        w.gateway.close()
        w.engine.dispose()
    assert report.refunds_retried == 2
    with ctx.engine.connect() as c:
        rows = c.execute(text("select status, gateway_ref from refunds where id = any(:r)"),
                         {"r": [r.id for r in pending]}).all()
    assert all(r.status == "succeeded" and r.gateway_ref for r in rows)
    gateway = ctx.settings.gateway.model_copy(update={"base_url": sandbox.base_url})
    gw = build_gateway(ctx.settings.model_copy(update={"gateway": gateway}))
    try:
        for r in pending:
            intent = gw.lookup(r.payment_ref)
            assert intent.amount_refunded_minor == r.amount_minor == intent.amount_received_minor
    finally:
        gw.close()
    final = _cancel(admin)
    assert final.complete and final.count("refunded", "card") == 2
    assert len(sandbox.ledger()["refunds"]) == 2  # once each, whoever asked


def test_an_admin_settles_no_refund_but_a_canceled_shows_pending_card_refund(ctx, admin, sold):
    """A pending card refund of a show on sale (seeded by the owner, as a counter's would
    be) is not marked paid through the cancel's settle function."""
    t, _, who = admin
    other = sold[OTHER][2]
    rid = uuid.uuid4()
    with ctx.engine.begin() as c:
        lines = c.execute(text("select array_agg(id) from order_lines where order_id = :o"),
                          {"o": other}).scalar_one()
        c.execute(text("insert into refunds (id, key, order_id, line_ids, method, status,"
                       " amount_minor, currency, reason_code, terminal_id) values (:r,"
                       " gen_random_uuid(), :o, :l, 'card', 'pending', 1, 'BRL',"
                       " 'event_canceled', :t)"), {"r": rid, "o": other, "l": lines,
                                                    "t": t.terminal_id})
    engine = raw_engine(t)
    try:
        with engine.begin() as conn:
            assert conn.execute(_SETTLED, {"r": rid, "t": t.terminal_id,
                                           "op": who.operator_id}).scalar_one() is False
    finally:
        engine.dispose()
        with ctx.engine.begin() as c:
            status = c.execute(text("select status from refunds where id = :r"),
                               {"r": rid}).scalar_one()
            c.execute(text("delete from refunds where id = :r"), {"r": rid})
    assert status == "pending"


def test_the_cancel_is_audited_in_the_admin_terminals_chain(ctx, admin, sold):
    t, _, _ = admin
    with ctx.engine.connect() as c:
        actions = c.execute(text("select action, count(*) from audit_log where chain = :c"
                                 " group by action"), {"c": t.name}).all()
    seen = dict((a, n) for a, n in actions)
    assert seen["event_cancel"] == 1
    assert seen["refund_owed"] == 3 and seen["refund"] == 2 and seen["approval"] == 2
    assert seen["void_tickets"] == 5
    checked, problems = audit.verify(ctx.engine)
    assert checked and problems == []


def test_a_cancel_is_signed_with_a_supervisors_pin_typed_on_the_console(ctx, admin, sold):
    """A stolen admin config alone refunds nothing: each run is signed by a supervisor's
    one-use PIN proof, and the refunds name a supervisor who signed that show's cancel."""
    t, ac, who = admin
    with pytest.raises(BoxOfficeError) as e:  # no PIN typed: no proof
        cancel_event(ac, who, uuid.uuid4(), OTHER, reason="stolen config")
    assert e.value.code == "database_refused"
    assert _state(ctx, sold[OTHER][0])[0] == "paid"
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from events where code = :c"),
                         {"c": OTHER}).scalar_one() == "on_sale"
    with unit_of_work(ctx.engine) as conn:
        create_operator(conn, "sec-cancel-sup", "Sup", "supervisor", "7777")
    sup = operator_id(ctx.engine, "sec-cancel-sup")
    engine = raw_engine(t)
    try:
        # A proof that is not this supervisor's, or none, signs nothing.
        carla = authenticate(ac.engine, "carla", "9999")
        for proof in (carla.proof, uuid.uuid4(), None):
            assert "not_authorized" in _refused(engine, text(
                "select bo_cancel_sign(:e, :t, :op, :p)"), {
                "e": _event(ctx, CANCELED), "t": t.terminal_id, "op": sup, "p": proof})
        # A supervisor who did not sign the show's cancel refunds none of its orders.
        assert "not_authorized" in _refused(engine, _REFUND, {
            "e": _event(ctx, CANCELED), "o": sold[CANCELED][0], "k": uuid.uuid4(),
            "t": t.terminal_id, "op": sup})
        # A used proof does not sign twice.
        with engine.begin() as conn:
            conn.execute(text("select bo_cancel_sign(:e, :t, :op, :p)"), {
                "e": _event(ctx, CANCELED), "t": t.terminal_id, "op": carla.id,
                "p": carla.proof})
        assert "not_authorized" in _refused(engine, text(
            "select bo_cancel_sign(:e, :t, :op, :p)"), {
            "e": _event(ctx, CANCELED), "t": t.terminal_id, "op": carla.id,
            "p": carla.proof})
    finally:
        engine.dispose()
    with ctx.engine.connect() as c:
        signed = c.execute(text("select o.login from bo_event_cancels s join operators o"
                                " on o.id = s.operator_id where s.event_id = :e"),
                           {"e": _event(ctx, CANCELED)}).scalars().all()
    assert signed == ["carla"]
