"""Issue 13 item 7: one idempotency key, one request, whatever the service.

Checkout and refund keep their keys on their own rows (sales.key, refunds.key), so a
key already used for a hold was accepted again; the README promises that reusing a key
for another request is rejected. And two copies of one cash checkout at the same
instant must give the same answer twice (not "ok" and hold_not_active).

The counter (reuse-1) acts on its own cashier login (``own``), ana's drawer open."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.actors import Actor
from core.errors import BoxOfficeError
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, open_shift, refund
from tests.payments.conftest import event_id, hold, operator_id


@pytest.fixture(scope="module")
def own(pctx, terminal_logins):
    """reuse-1's own context (its cashier login), with the sandbox gateway; a pool for
    six simultaneous copies of one checkout."""
    return terminal_logins.new_context("reuse-1", "cashier", pctx.settings, pool_size=8,
                                       gateway=pctx.gateway)


@pytest.fixture(scope="module")
def till(pctx, own, terminal_logins) -> Actor:
    a = terminal_logins.actor("reuse-1", "cashier", operator_id(pctx, "ana"), "cashier")
    open_shift(own, a, uuid.uuid4(), 100_000)
    return a


def _code(fn, *args, **kw) -> str:
    try:
        fn(*args, **kw)
    except BoxOfficeError as exc:
        return exc.code
    return "ok"


def test_a_hold_key_is_refused_by_checkout_and_refund(own, till):
    k = uuid.uuid4()
    h = hold_best_available(own, till, k, event_id(own, "SINATRA"), 1)
    assert _code(checkout, own, till, k, h.hold_id, CashTender(h.total_minor)) \
        == "idempotency_conflict"
    assert _code(checkout, own, till, k, h.hold_id, CardTender("pm_card_visa")) \
        == "idempotency_conflict"
    sale = checkout(own, till, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert _code(refund, own, till, k, sale.order.order_id,
                 reason_code="customer_request") == "idempotency_conflict"
    # Nothing happened under the reused key: the order is still paid.
    assert refund(own, till, uuid.uuid4(), sale.order.order_id,
                  reason_code="customer_request").status == "succeeded"


def test_a_checkout_key_is_refused_by_a_hold_and_a_refund(own, till):
    h = hold(own, till)
    k = uuid.uuid4()
    sale = checkout(own, till, k, h.hold_id, CashTender(h.total_minor))
    assert _code(hold_best_available, own, till, k, event_id(own, "SINATRA"), 1) \
        == "idempotency_conflict"
    assert _code(refund, own, till, k, sale.order.order_id,
                 reason_code="customer_request") == "idempotency_conflict"
    # The same checkout again is still the same answer.
    assert checkout(own, till, k, h.hold_id, CashTender(h.total_minor)) == sale


def test_a_refund_key_is_refused_by_checkout(own, till):
    h = hold(own, till)
    sale = checkout(own, till, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    k = uuid.uuid4()
    refund(own, till, k, sale.order.order_id, reason_code="customer_request")
    h2 = hold(own, till)
    assert _code(checkout, own, till, k, h2.hold_id, CashTender(h2.total_minor)) \
        == "idempotency_conflict"


@pytest.mark.parametrize("copies", [2, 6])
def test_simultaneous_copies_of_one_cash_checkout_answer_the_same(own, till, copies):
    for _ in range(5):
        h = hold(own, till)
        k = uuid.uuid4()
        barrier = threading.Barrier(copies)

        def go(_i: int, h=h, k=k, barrier=barrier):
            barrier.wait()
            try:
                return checkout(own, till, k, h.hold_id, CashTender(h.total_minor + 500))
            except BoxOfficeError as exc:
                return exc.code

        with ThreadPoolExecutor(copies) as pool:
            answers = list(pool.map(go, range(copies)))
        assert all(a == answers[0] for a in answers), answers
        assert not isinstance(answers[0], str), answers
        assert answers[0].change_minor == 500


def test_simultaneous_copies_of_one_card_checkout_answer_the_same(own, till, sandbox):
    for _ in range(3):
        h = hold(own, till)
        k = uuid.uuid4()
        barrier = threading.Barrier(4)

        def go(_i: int, h=h, k=k, barrier=barrier):
            barrier.wait()
            try:
                return checkout(own, till, k, h.hold_id, CardTender("pm_card_visa"))
            except BoxOfficeError as exc:
                return exc.code

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(go, range(4)))
        assert all(a == answers[0] for a in answers), answers
        assert not isinstance(answers[0], str), answers
        made = [i for i in sandbox.ledger()["intents"]
                if i["metadata"].get("sale_id") == str(answers[0].sale_id)]
        assert [i["status"] for i in made] == ["succeeded"]
