"""An event cancel's refunds under roles (migration 0017): only an admin login may call
``bo_cancel_refund_order`` and ``bo_cancel_refund_settled``; with them an admin refunds
the orders of a canceled show once each, and nothing else: not an order of another
event, not an order twice, not a show that is not canceled, not for a cashier's name.
The cancel itself (core.backoffice.cancel) runs on the admin login."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.backoffice.cancel import cancel_event, refund_key
from core.reservation import hold_best_available
from core.sales import CashTender, checkout, open_shift
from tests.security.conftest import actor_for, operator_id, raw_engine, terminal_context

CANCELED = "MAGICA"
OTHER = "SINATRA"
_REFUND = text("select * from bo_cancel_refund_order(:e, :o, :k, :t, :op)")
_SETTLED = text("select bo_cancel_refund_settled(:r, 'rf_fake', :t, :op)")


def _event(ctx, code: str) -> int:
    with ctx.engine.connect() as c:
        return int(c.execute(text("select id from events where code = :c"),
                             {"c": code}).scalar_one())


@pytest.fixture(scope="module")
def admin(provision, tmp_path_factory):
    t = provision("admin", "sec-cancel-admin")
    c = terminal_context(t, tmp_path_factory.mktemp("cancel-admin"))
    carla = authenticate(c.engine, "carla", "9999")
    yield t, c, actor_for(t, carla.id, carla.role)
    c.engine.dispose()


@pytest.fixture(scope="module")
def sold(ctx, provision, tmp_path_factory, admin) -> dict[str, list[uuid.UUID]]:
    """Three cash orders on each show, sold at a counter on its own login; then the
    admin cancels one show."""
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
    _, ac, who = admin
    summary = cancel_event(ac, who, uuid.uuid4(), CANCELED, reason="sec test")
    assert summary.complete and summary.count("owed", "cash") == 3
    return orders


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
    t, ac, who = admin
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
    again = cancel_event(ac, who, uuid.uuid4(), CANCELED, reason="sec test")
    assert again.complete and again.count("owed", "cash") == 3
    assert _state(ctx, order) == before
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from refunds where id = :r"),
                         {"r": first.id}).scalar_one() == "owed"
        per_order = c.execute(text("select count(*) from refunds r join orders o on"
                                   " o.id = r.order_id where o.event_id = :e group by r.order_id"),
                              {"e": _event(ctx, CANCELED)}).scalars().all()
    assert per_order == [1, 1, 1]


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
