"""The card sale saga against the real sandbox: happy path, declines, idempotent
repeats, compensation when confirm fails, capture refused, kiosks.

Counters and kiosks sell on their own logins, the recovery runs on a worker login (as
``boxoffice worker`` does); the owner's ``pctx`` reads the sale rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.sales import CardTender, CashTender, checkout, open_shift, recover_stuck_sales
from tests.payments.conftest import hold


@pytest.fixture(scope="module")
def shift(cashier_pctx, cashier):
    return open_shift(cashier_pctx, cashier, uuid.uuid4(), 10_000)


@pytest.fixture(scope="module")
def worker_pctx(pctx, terminal_logins):
    """The worker's own context (its login), with the sandbox gateway."""
    return terminal_logins.new_context("saga-worker", "worker", pctx.settings,
                                       gateway=pctx.gateway)


def _intent(sandbox, intent_id):
    return next(i for i in sandbox.ledger()["intents"] if i["id"] == intent_id)


def test_card_checkout_sells_captures_and_issues_tickets(pctx, cashier_pctx, cashier, shift,
                                                         sandbox):
    h = hold(cashier_pctx, cashier, n=2)
    res = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id,
                   CardTender("pm_card_visa", "visa", "4242"))
    assert res.order.total_minor == h.total_minor == res.amount_minor
    assert not res.capture_pending
    assert len(res.ticket_serials) == 2
    pi = _intent(sandbox, res.intent_id)
    assert pi["status"] == "succeeded" and pi["amount_received"] == h.total_minor
    assert pi["metadata"]["sale_id"] == str(res.sale_id)
    with pctx.engine.connect() as c:
        st = c.execute(text("select state from sales where id = :i"),
                       {"i": res.sale_id}).scalar_one()
        order = c.execute(text("select status, shift_id, payment_ref from orders where id = :i"),
                          {"i": res.order.order_id}).one()
    assert st == "completed"
    assert order.status == "paid" and order.shift_id == shift.shift_id
    assert order.payment_ref == res.intent_id


def test_repeat_key_returns_same_result_without_new_charge(cashier_pctx, cashier, shift, sandbox):
    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    a = checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
    n = len(sandbox.ledger()["intents"])
    b = checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
    assert a == b
    assert len(sandbox.ledger()["intents"]) == n
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, key, hold(cashier_pctx, cashier).hold_id,
                 CardTender("pm_card_visa"))
    assert e.value.code == "idempotency_conflict"


@pytest.mark.parametrize("pm, code", [
    ("pm_card_chargeDeclined", "card_declined"),
    ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
])
def test_decline_keeps_hold_for_another_card(cashier_pctx, cashier, shift, pm, code):
    h = hold(cashier_pctx, cashier)
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CardTender(pm))
    assert e.value.code == code
    # Same hold, another card: goes through.
    res = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    assert res.order.hold_id == h.hold_id


def test_decline_can_release_the_hold(pctx, cashier_pctx, cashier, shift):
    h = hold(cashier_pctx, cashier)
    seat = h.seat_ids[0]
    with pytest.raises(BoxOfficeError):
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id,
                 CardTender("pm_card_chargeDeclined"), release_on_decline=True)
    with pctx.engine.connect() as c:
        status = c.execute(text("select status from event_seats where seat_id = :s"
                                " and hold_id is null and event_id = :e"),
                           {"s": seat, "e": h.event_id}).scalar_one()
    assert status == "available"


def test_confirm_failure_voids_authorization(pctx, cashier_pctx, cashier, shift, sandbox):
    import threading

    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    sandbox.set_faults(latency_ms=150)
    errors: list[BoxOfficeError] = []

    def run() -> None:
        try:
            checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
        except BoxOfficeError as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    # While the gateway is answering, the hold lapses (by the database clock).
    while True:
        with pctx.engine.begin() as c:
            if c.execute(text("update holds set expires_at = now() - interval '1 second'"
                              " where id = :h and exists (select 1 from sales where key = :k)"
                              " returning id"), {"h": h.hold_id, "k": key}).first():
                break
    t.join()
    assert [e.code for e in errors] == ["hold_expired"]
    with pctx.engine.connect() as c:
        sale = c.execute(text("select state, intent_id from sales where key = :k"),
                         {"k": key}).one()
    assert sale.state == "voided"
    assert _intent(sandbox, sale.intent_id)["status"] == "canceled"


def test_capture_refused_reverses_the_sale(pctx, cashier_pctx, cashier, shift, sandbox):
    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    # Authorize and confirm, then cancel the intent behind our back so capture is refused.
    from core.sales import saga

    real = saga._capture

    def sabotage(ctx, actor, gateway, sale):
        gateway.void(sale.intent_id, idempotency_key="sabotage-" + str(sale.id))
        return real(ctx, actor, gateway, sale)

    saga._capture = sabotage
    try:
        with pytest.raises(BoxOfficeError):
            checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
    finally:
        saga._capture = real
    with pctx.engine.connect() as c:
        sale = c.execute(text("select state, order_id from sales where key = :k"),
                         {"k": key}).one()
        order = c.execute(text("select status from orders where id = :o"),
                          {"o": sale.order_id}).scalar_one()
        tickets = c.execute(text("select distinct status from tickets where order_id = :o"),
                            {"o": sale.order_id}).scalars().all()
    assert sale.state == "reversed" and order == "canceled"
    assert tickets == ["void"]
    seat = h.seat_ids[0]
    with pctx.engine.connect() as c:
        st = c.execute(text("select status from event_seats where seat_id = :s and event_id = :e"),
                       {"s": seat, "e": h.event_id}).scalar_one()
    assert st == "available"


def test_kiosk_sells_card_only_without_shift(kiosk_pctx, kiosk):
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    with pytest.raises(BoxOfficeError) as e:
        checkout(kiosk_pctx, kiosk, uuid.uuid4(), h.hold_id, CashTender(100_000))
    assert e.value.code == "cash_not_accepted"
    res = checkout(kiosk_pctx, kiosk, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    assert res.order.total_minor == h.total_minor


def test_counter_needs_open_shift(pctx, terminal_logins):
    # A counter of its own, signed in (ana) but with no drawer open.
    with pctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    a = terminal_logins.actor("pay-counter-noshift", "cashier", ana, "cashier")
    own = terminal_logins.new_context("pay-counter-noshift", "cashier", pctx.settings,
                                      gateway=pctx.gateway)
    h = hold(own, a)
    with pytest.raises(BoxOfficeError) as e:
        checkout(own, a, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    assert e.value.code == "no_open_shift"


def test_recovery_with_nothing_stuck_is_a_no_op(worker_pctx):
    rep = recover_stuck_sales(worker_pctx, older_than_s=0)
    assert rep.still_stuck == 0


def test_gateway_down_falls_back_to_cash_on_the_same_hold(pctx, cashier_pctx, cashier, shift,
                                                          sandbox, worker_pctx):
    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    sandbox.set_faults(error_rate=1.0)
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
    assert e.value.code == "gateway_unavailable"
    sandbox.set_faults(error_rate=0.0)
    pctx.gateway.breaker.force("closed")
    with pctx.engine.connect() as c:
        sale = c.execute(text("select id, state from sales where key = :k"), {"k": key}).one()
    assert sale.state == "voiding"  # outcome unknown: to be cancelled, hold let go
    cash = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert cash.order.hold_id == h.hold_id
    rep = recover_stuck_sales(worker_pctx, older_than_s=0)
    assert rep.voided >= 1 and rep.still_stuck == 0
    pis = [i for i in sandbox.ledger()["intents"] if i["metadata"].get("sale_id") ==
           str(sale.id)]
    assert all(i["status"] == "canceled" for i in pis)
    with pctx.engine.connect() as c:
        assert c.execute(text("select state from sales where id = :i"),
                         {"i": sale.id}).scalar_one() == "voided"


def test_open_breaker_fails_fast_without_writing(pctx, cashier_pctx, cashier, shift):
    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    pctx.gateway.breaker.force("open")
    try:
        with pytest.raises(BoxOfficeError) as e:
            checkout(cashier_pctx, cashier, key, h.hold_id, CardTender("pm_card_visa"))
    finally:
        pctx.gateway.breaker.force("closed")
    assert e.value.code == "gateway_unavailable" and e.value.details["circuit"] == "open"
    with pctx.engine.connect() as c:
        assert c.execute(text("select count(*) from sales where key = :k"),
                         {"k": key}).scalar_one() == 0
