"""Cash and shifts (change, totals, blind count, variance approval, X/Z reports),
refunds with their approvals (card through the gateway, cash from the drawer), and
exchanges."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core import audit
from core.actors import Actor
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.sales import (
    CardTender,
    CashTender,
    SupervisorPin,
    approve_variance,
    checkout,
    close_shift,
    exchange,
    open_shift,
    refund,
    x_report,
    z_report,
)
from tests.payments.conftest import hold, operator_id

CARLA = SupervisorPin("carla", "9999")


def _cashier(pctx, logins, name: str, login: str = "ana") -> tuple[CoreContext, Actor]:
    """Counter ``name`` with ``login`` signed in: its own login's context (one connection
    kept: a context per test lives to the module's end), and its actor."""
    actor = logins.actor(name, "cashier", operator_id(pctx, login), "cashier")
    return logins.new_context(name, "cashier", pctx.settings, pool_size=1,
                              gateway=pctx.gateway), actor


def test_cash_sale_change_and_shift_close_within_tolerance(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-1")
    shift = open_shift(ca, a, uuid.uuid4(), 20_000)
    with pytest.raises(BoxOfficeError) as e:
        open_shift(ca, a, uuid.uuid4(), 100)
    assert e.value.code == "shift_already_open"
    h = hold(ca, a, n=2)
    with pytest.raises(BoxOfficeError) as e:
        checkout(ca, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor - 1))
    assert e.value.code == "tender_insufficient"
    key = uuid.uuid4()
    res = checkout(ca, a, key, h.hold_id, CashTender(h.total_minor + 3_050))
    assert res.change_minor == 3_050 and res.tender == "cash"
    assert checkout(ca, a, key, h.hold_id, CashTender(h.total_minor + 3_050)) == res
    card = checkout(ca, a, uuid.uuid4(), hold(ca, a).hold_id, CardTender("pm_card_visa"))

    x = x_report(pctx, shift.shift_id)
    assert x.by_tender["cash"].sales_count == 1
    assert x.by_tender["cash"].sales_minor == h.total_minor
    assert x.by_tender["card"].sales_minor == card.amount_minor
    assert x.expected_cash_minor == 20_000 + h.total_minor

    # Blind count: the cashier enters the count; the expected figure comes back after.
    closed = close_shift(ca, a, uuid.uuid4(), 20_000 + h.total_minor - 500)
    assert closed.status == "closed" and closed.variance_minor == -500
    assert not closed.needs_approval
    z = z_report(pctx, shift.shift_id)
    assert (z.kind, z.counted_cash_minor, z.variance_minor) == ("Z", 20_000 + h.total_minor
                                                                - 500, -500)
    with pytest.raises(BoxOfficeError) as e:
        checkout(ca, a, uuid.uuid4(), hold(ca, a).hold_id, CashTender(10**7))
    assert e.value.code == "no_open_shift"


def test_variance_over_limit_needs_supervisor(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-2", "bruno")
    shift = open_shift(ca, a, uuid.uuid4(), 10_000)
    res = close_shift(ca, a, uuid.uuid4(), 10_000 + 5_000)
    assert res.needs_approval and res.status == "pending_approval"
    assert res.variance_minor == 5_000
    # The count is final: no second try after seeing the expected figure.
    with pytest.raises(BoxOfficeError) as e:
        close_shift(ca, a, uuid.uuid4(), 10_000)
    assert e.value.code == "count_already_entered"
    with pytest.raises(BoxOfficeError) as e:
        approve_variance(ca, a, uuid.uuid4(), shift.shift_id, SupervisorPin("ana", "1234"),
                         "counting_error")
    assert e.value.code == "not_authorized"
    with pytest.raises(BoxOfficeError) as e:
        approve_variance(ca, a, uuid.uuid4(), shift.shift_id, SupervisorPin("carla", "0000"),
                         "counting_error")
    assert e.value.code == "invalid_pin"
    done = approve_variance(ca, a, uuid.uuid4(), shift.shift_id, CARLA, "surplus_cash")
    assert done.status == "closed"
    with pctx.engine.connect() as c:
        ap = c.execute(text("select a.* from approvals a join shifts s on s.approval_id = a.id"
                            " where s.id = :s"), {"s": shift.shift_id}).mappings().one()
    assert ap["requested_by"] == operator_id(pctx, "bruno")
    assert ap["approved_by"] == operator_id(pctx, "carla")
    assert ap["reason_code"] == "surplus_cash" and ap["amount_minor"] == 5_000
    checked, problems = audit.verify(pctx.engine)
    assert checked > 0 and problems == []


def test_cash_refund_single_line_then_rest(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-3")
    shift = open_shift(ca, a, uuid.uuid4(), 50_000)
    h = hold(ca, a, n=2)
    sale = checkout(ca, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    first = sale.order.lines[0]
    with pytest.raises(BoxOfficeError) as e:
        refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="because")
    assert e.value.code == "invalid_reason"
    key = uuid.uuid4()
    r1 = refund(ca, a, key, sale.order.order_id, reason_code="customer_request",
                line_ids=[first.line_id])
    assert r1.method == "cash" and r1.status == "succeeded"
    assert r1.amount_minor == first.unit_price_minor and r1.tickets_voided == 1
    assert refund(ca, a, key, sale.order.order_id, reason_code="customer_request",
                  line_ids=[first.line_id]).refund_id == r1.refund_id
    with pctx.engine.connect() as c:
        assert c.execute(text("select status from orders where id = :o"),
                         {"o": sale.order.order_id}).scalar_one() == "partially_refunded"
        assert c.execute(text("select status from event_seats where event_id = :e and"
                              " seat_id = :s"), {"e": h.event_id, "s": first.seat_id}
                         ).scalar_one() == "available"
    r2 = refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="customer_request")
    assert r2.amount_minor == h.total_minor - first.unit_price_minor
    with pytest.raises(BoxOfficeError) as e:
        refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="customer_request")
    assert e.value.code == "nothing_to_refund"
    x = x_report(pctx, shift.shift_id)
    assert x.by_tender["cash"].refunds_minor == h.total_minor
    assert x.expected_cash_minor == 50_000
    with pctx.engine.connect() as c:
        tickets = c.execute(text("select status from tickets where order_id = :o"),
                            {"o": sale.order.order_id}).scalars().all()
    assert tickets == ["void", "void"]


def test_card_refund_through_gateway_with_approval_over_limit(pctx, sandbox, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-4", "bruno")
    open_shift(ca, a, uuid.uuid4(), 0)
    h = hold(ca, a, "SINATRA", n=3)  # over the 500.00 limit at these prices
    assert h.total_minor > pctx.settings.sales.refund_approval_over_minor
    sale = checkout(ca, a, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    with pytest.raises(BoxOfficeError) as e:
        refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="event_changed")
    assert e.value.code == "approval_required"
    r = refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="event_changed",
               approver=CARLA)
    assert r.method == "card" and r.status == "succeeded" and r.approval_id is not None
    refunds = [x for x in sandbox.ledger()["refunds"] if x["payment_intent"] == sale.intent_id]
    assert [x["amount"] for x in refunds] == [h.total_minor]


def test_card_refund_waits_for_gateway_then_sweeper_settles_it(pctx, sandbox, terminal_logins):
    from core.sales import recover_stuck_sales

    ca, a = _cashier(pctx, terminal_logins, "cash-5")
    open_shift(ca, a, uuid.uuid4(), 0)
    sale = checkout(ca, a, uuid.uuid4(), hold(ca, a, "MAGICA").hold_id,
                    CardTender("pm_card_visa"))
    sandbox.set_faults(error_rate=1.0)
    r = refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="customer_request")
    assert r.status == "pending"
    sandbox.set_faults(error_rate=0.0)
    pctx.gateway.breaker.force("closed")
    rep = recover_stuck_sales(pctx, older_than_s=0)
    assert rep.refunds_retried == 1
    refunds = [x for x in sandbox.ledger()["refunds"] if x["payment_intent"] == sale.intent_id]
    assert len(refunds) == 1


def test_other_shift_refund_always_needs_supervisor(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-6")
    cb, b = _cashier(pctx, terminal_logins, "cash-7", "bruno")
    open_shift(ca, a, uuid.uuid4(), 10_000)
    open_shift(cb, b, uuid.uuid4(), 10_000)
    h = hold(ca, a, "COMEDIA-HOJE")
    sale = checkout(ca, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert h.total_minor < pctx.settings.sales.refund_approval_over_minor
    with pytest.raises(BoxOfficeError) as e:
        refund(cb, b, uuid.uuid4(), sale.order.order_id, reason_code="wrong_seat")
    assert e.value.code == "approval_required"
    r = refund(cb, b, uuid.uuid4(), sale.order.order_id, reason_code="wrong_seat",
               approver=CARLA)
    with pctx.engine.connect() as c:
        ap = c.execute(text("select * from approvals where id = :i"),
                       {"i": r.approval_id}).mappings().one()
        entry = c.execute(text("select payload from audit_log where action = 'approval'"
                               " and payload like :p"), {"p": f"%{r.approval_id}%"}).scalar_one()
    assert ap["kind"] == "refund" and ap["reason_code"] == "wrong_seat"
    assert ap["requested_by"] == operator_id(pctx, "bruno")
    assert '"approved_by_login":"carla"' in entry


def test_exchange_is_a_refund_and_a_new_sale(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-8")
    shift = open_shift(ca, a, uuid.uuid4(), 10_000)
    old_hold = hold(ca, a, "COMEDIA-HOJE")
    old = checkout(ca, a, uuid.uuid4(), old_hold.hold_id, CashTender(old_hold.total_minor))
    new_hold = hold(ca, a, "MAGICA")
    key = uuid.uuid4()
    # The customer hands over only the difference: the refund is credit.
    diff = new_hold.total_minor - old_hold.total_minor
    ex = exchange(ca, a, key, old.order.order_id, new_hold.hold_id, CashTender(max(diff, 0)))
    assert ex.refund.reason_code == "exchange" and ex.refund.amount_minor == old_hold.total_minor
    assert ex.sale.order.hold_id == new_hold.hold_id
    assert ex.difference_minor == diff
    assert ex.sale.change_minor == max(-diff, 0)
    again = exchange(ca, a, key, old.order.order_id, new_hold.hold_id,
                     CashTender(max(diff, 0)))
    assert again.refund.refund_id == ex.refund.refund_id
    assert again.sale.sale_id == ex.sale.sale_id
    x = x_report(pctx, shift.shift_id)
    assert x.expected_cash_minor == 10_000 + new_hold.total_minor


def test_card_order_awaiting_capture_cannot_be_refunded(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-9")
    open_shift(ca, a, uuid.uuid4(), 0)
    sale = checkout(ca, a, uuid.uuid4(), hold(ca, a, "MAGICA").hold_id,
                    CardTender("pm_card_visa"))
    # As if the capture were still waiting for the gateway.
    with pctx.engine.begin() as c:
        c.execute(text("update sales set state = 'capturing' where id = :i"),
                  {"i": sale.sale_id})
    try:
        with pytest.raises(BoxOfficeError) as e:
            refund(ca, a, uuid.uuid4(), sale.order.order_id, reason_code="customer_request")
        assert e.value.code == "sale_in_progress"
    finally:
        with pctx.engine.begin() as c:
            c.execute(text("update sales set state = 'completed' where id = :i"),
                      {"i": sale.sale_id})


def test_exchange_is_all_or_nothing(pctx, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-10")
    open_shift(ca, a, uuid.uuid4(), 10_000)
    old_hold = hold(ca, a, "COMEDIA-HOJE")
    old = checkout(ca, a, uuid.uuid4(), old_hold.hold_id, CashTender(old_hold.total_minor))
    new_hold = hold(ca, a, "MAGICA")
    with pctx.engine.begin() as c:  # the new seats' hold lapses before the exchange
        c.execute(text("update holds set expires_at = now() - interval '1 second'"
                       " where id = :h"), {"h": new_hold.hold_id})
    with pytest.raises(BoxOfficeError) as e:
        exchange(ca, a, uuid.uuid4(), old.order.order_id, new_hold.hold_id,
                 CashTender(10**6))
    assert e.value.code == "hold_expired"
    with pctx.engine.connect() as c:
        assert c.execute(text("select status from orders where id = :o"),
                         {"o": old.order.order_id}).scalar_one() == "paid"
        assert c.execute(text("select count(*) from refunds where order_id = :o"),
                         {"o": old.order.order_id}).scalar_one() == 0
        tickets = c.execute(text("select status from tickets where order_id = :o"),
                            {"o": old.order.order_id}).scalars().all()
    assert tickets == ["valid"]


def test_card_exchange_sells_first_then_refunds(pctx, sandbox, terminal_logins):
    ca, a = _cashier(pctx, terminal_logins, "cash-11")
    open_shift(ca, a, uuid.uuid4(), 0)
    old_hold = hold(ca, a, "COMEDIA-HOJE")
    old = checkout(ca, a, uuid.uuid4(), old_hold.hold_id, CardTender("pm_card_visa"))
    new_hold = hold(ca, a, "MAGICA")
    with pytest.raises(BoxOfficeError) as e:
        exchange(ca, a, uuid.uuid4(), old.order.order_id, new_hold.hold_id,
                 CardTender("pm_card_chargeDeclined"))
    assert e.value.code == "card_declined"
    with pctx.engine.connect() as c:
        assert c.execute(text("select status from orders where id = :o"),
                         {"o": old.order.order_id}).scalar_one() == "paid"
    ex = exchange(ca, a, uuid.uuid4(), old.order.order_id, new_hold.hold_id,
                  CardTender("pm_card_visa"))
    assert ex.refund.method == "card" and ex.refund.status == "succeeded"
    refunds = [x for x in sandbox.ledger()["refunds"] if x["payment_intent"] == old.intent_id]
    assert [x["amount"] for x in refunds] == [old_hold.total_minor]
