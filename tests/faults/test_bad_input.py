"""Issue 13 item 6: out-of-range and malformed numbers get a clear BoxOfficeError at the
service boundary; none reaches the driver (DataError) or int() (ValueError), and money
has sane bounds (a tender of 2**62 is not a sale with 4.6e18 of change)."""

from __future__ import annotations

import uuid

import pytest

from core.actors import Actor
from core.errors import BoxOfficeError
from core.money import MAX_AMOUNT_MINOR
from core.reservation import (
    availability,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    seat_layout,
    sections,
)
from core.sales import CashTender, checkout, open_shift, refund
from tests.core.helpers import event_id, seats_of, section_id
from tests.payments.conftest import hold, operator_id

BIG4 = 2**31
BIG8 = 2**63


def _code(fn, *args, **kw) -> str:
    try:
        fn(*args, **kw)
    except BoxOfficeError as exc:
        return exc.code
    return "ok"


@pytest.fixture(scope="module")
def own(pctx, terminal_logins):
    """bad-input-1's own context: its cashier login, with the sandbox gateway. Every input
    below is typed at that counter and read there."""
    return terminal_logins.new_context("bad-input-1", "cashier", pctx.settings, pool_size=2,
                                       gateway=pctx.gateway)


@pytest.fixture(scope="module")
def till(pctx, own, terminal_logins) -> Actor:
    a = terminal_logins.actor("bad-input-1", "cashier", operator_id(pctx, "ana"), "cashier")
    open_shift(own, a, uuid.uuid4(), 10_000)
    return a


def test_ids_out_of_range_or_not_numbers(own, till):
    k = uuid.uuid4
    sinatra = event_id(own.engine, "SINATRA")
    poker = event_id(own.engine, "POKER-OPEN")
    ga = section_id(own.engine, poker, "ENTRADA")
    seat = seats_of(own.engine, sinatra)[0]
    assert _code(hold_seats, own, till, k(), BIG4, [seat]) == "unknown_event"
    assert _code(hold_seats, own, till, k(), -BIG4 - 1, [seat]) == "unknown_event"
    assert _code(hold_seats, own, till, k(), sinatra, [BIG8]) == "unknown_seat"
    assert _code(hold_seats, own, till, k(), sinatra, [-BIG8 - 1]) == "unknown_seat"
    assert _code(hold_seats, own, till, k(), sinatra, ["12x"]) == "invalid_id"
    assert _code(hold_seats, own, till, k(), sinatra, [1.5]) == "invalid_id"
    assert _code(hold_seats, own, till, k(), "12x", [seat]) == "invalid_id"
    assert _code(hold_seats, own, till, k(), True, [seat]) == "invalid_id"
    assert _code(hold_general_admission, own, till, k(), BIG4, ga, 1) == "unknown_event"
    assert _code(hold_general_admission, own, till, k(), poker, BIG4, 1) == "unknown_section"
    assert _code(hold_general_admission, own, till, k(), poker, "x", 1) == "invalid_id"
    assert _code(hold_best_available, own, till, k(), BIG4, 1) == "unknown_event"
    assert _code(hold_best_available, own, till, k(), sinatra, 1, [BIG4]) \
        == "unknown_section"
    for quantity in (BIG8, -BIG8, "2", 2.0, None):
        assert _code(hold_general_admission, own, till, k(), poker, ga, quantity) in (
            "invalid_quantity", "too_many_seats"), quantity
    for read in (availability, seat_layout, sections):
        assert _code(read, own.engine, BIG4) == "unknown_event", read
        assert _code(read, own.engine, "12x") == "invalid_id", read
    # Ordinary ids still work, digit strings included (they come from forms).
    assert hold_seats(own, till, k(), str(sinatra), [str(seat)]).seat_ids == (seat,)


def test_cash_amounts_have_sane_bounds(own, till):
    for tendered in (10**30, 2**62, MAX_AMOUNT_MINOR + 1, -1, 12.5, "100", True):
        h = hold(own, till)
        assert _code(checkout, own, till, uuid.uuid4(), h.hold_id,
                     CashTender(tendered)) == "invalid_amount", tendered
    h = hold(own, till)
    sale = checkout(own, till, uuid.uuid4(), h.hold_id, CashTender(h.total_minor + 100))
    assert sale.change_minor == 100
    assert _code(refund, own, till, uuid.uuid4(), sale.order.order_id,
                 reason_code="customer_request", line_ids=[BIG8]) == "invalid_input"
    assert _code(refund, own, till, uuid.uuid4(), sale.order.order_id,
                 reason_code="customer_request", line_ids=["x"]) == "invalid_id"
    assert _code(open_shift, own, till, uuid.uuid4(), 10**30) == "invalid_amount"


def test_lease_and_price_override_inputs(own, till):
    from core.leases import take_lease
    from core.pricing import override_price
    from core.sales.approvals import SupervisorPin

    sinatra = event_id(own.engine, "SINATRA")
    orq = section_id(own.engine, sinatra, "ORQ")
    k = uuid.uuid4
    assert _code(take_lease, own, till, k(), BIG4, section_id=orq, quantity=2) \
        == "unknown_event"
    assert _code(take_lease, own, till, k(), sinatra, seat_ids=["1", "x"]) == "invalid_id"
    assert _code(take_lease, own, till, k(), sinatra, seat_ids=[BIG8]) == "unknown_seat"
    assert _code(take_lease, own, till, k(), sinatra, section_id=BIG4, quantity=2) \
        == "unknown_section"
    for quantity in (10**20, 2**31, "2", 2.5):
        assert _code(take_lease, own, till, k(), sinatra, section_id=orq,
                     quantity=quantity) == "invalid_quantity", quantity
    carla = SupervisorPin("carla", "9999")
    assert _code(override_price, own, till, k(), BIG4, 10_000, carla) == "unknown_tier"
    assert _code(override_price, own, till, k(), 1, 10**30, carla) == "invalid_amount"
    assert _code(override_price, own, till, k(), 1, "100", carla) == "invalid_amount"


def test_refund_and_exchange_line_ids(own, till):
    from core.sales import exchange, refund_needs_approval

    h = hold(own, till)
    sale = checkout(own, till, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    order = sale.order.order_id
    assert _code(refund_needs_approval, own, till, order, [["x"]]) == "invalid_id"
    assert _code(refund_needs_approval, own, till, order, [1, "y"]) == "invalid_id"
    h2 = hold(own, till)
    assert _code(exchange, own, till, uuid.uuid4(), order, h2.hold_id, CashTender(0),
                 line_ids=[BIG8 * 4]) == "invalid_input"
    assert _code(exchange, own, till, uuid.uuid4(), order, h2.hold_id, CashTender(0),
                 line_ids=[None]) == "invalid_id"
