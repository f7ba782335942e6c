"""A counter session against the real database: sign in, open the drawer, hold the best
seats, sell them for cash and print, then the typed X report and blind close."""

from __future__ import annotations

import uuid

import pytest

from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.sales import ShiftClose, ShiftInfo, ShiftReport
from printing.spooler import Spooler
from terminal.counter import CounterSession
from terminal.kiosk import KioskSession
from terminal.results import Approval, SaleOutcome
from tests.terminal_fixtures import build_session, scalar

pytestmark = pytest.mark.db


def test_counter_sells_for_cash_end_to_end(terminal_ctx: CoreContext,
                                           spooler: Spooler) -> None:
    svc = build_session(CounterSession, terminal_ctx, "term-counter", spooler=spooler)
    op = svc.sign_in("ana", "1234")
    assert op.login == "ana" and svc.actor.operator_id == op.id
    with pytest.raises(BoxOfficeError) as no_shift:
        svc.x_report()
    assert no_shift.value.code == "no_shift"
    shift = svc.open_shift(20000, uuid.uuid4())
    assert isinstance(shift, ShiftInfo) and shift.opening_float_minor == 20000

    ev = next(e for e in svc.events() if e.code == "SINATRA")
    smap = svc.seat_map(ev.id)
    assert smap.layout is not None and smap.availability.seat_ids
    hold = svc.hold_best(uuid.uuid4(), ev.id, 2)
    assert len(hold.seat_ids) == 2
    key = uuid.uuid4()
    sale = svc.pay_cash(key, hold, hold.total_minor + 1000)
    assert isinstance(sale, SaleOutcome)
    assert sale.change_minor == 1000 and sale.total_minor == hold.total_minor
    assert len(sale.print_jobs) >= 2 and sale.print_state not in ("none", "offline")
    assert scalar(terminal_ctx, "select status from orders where id = :o",
                  o=sale.order_id) == "paid"
    # The same key again is the same sale, not a second one.
    again = svc.pay_cash(key, hold, hold.total_minor + 1000)
    assert again.order_id == sale.order_id
    assert scalar(terminal_ctx, "select count(*) from orders where hold_id = :h",
                  h=hold.hold_id) == 1

    found = svc.find_orders(str(sale.order_number))
    assert [o.order_id for o in found] == [sale.order_id]

    report = svc.x_report()
    assert isinstance(report, ShiftReport)
    assert report.by_tender["cash"].sales_minor == hold.total_minor

    counted = 20000 + hold.total_minor
    closed = svc.close_shift(counted, uuid.uuid4())
    assert isinstance(closed, ShiftClose)
    assert (closed.status, closed.variance_minor) == ("closed", 0)
    assert svc.shift is None


def test_counter_refund_answers_a_typed_result(terminal_ctx: CoreContext) -> None:
    svc = build_session(CounterSession, terminal_ctx, "term-refund")
    svc.sign_in("ana", "1234")
    svc.open_shift(50000, uuid.uuid4())
    ev = next(e for e in svc.events() if e.code == "SINATRA")
    hold = svc.hold_best(uuid.uuid4(), ev.id, 1)
    sale = svc.pay_cash(uuid.uuid4(), hold, hold.total_minor)
    assert sale.print_state == "none"  # no spooler on this terminal: nothing printed
    approval = Approval(None, "customer_request", "carla", "9999")
    refund = svc.refund(uuid.uuid4(), sale.order_id, approval)
    assert refund.amount_minor == hold.total_minor and refund.method == "cash"
    with pytest.raises(BoxOfficeError) as no_printer:
        svc.reprint(sale.order_id)
    assert no_printer.value.code == "printer_offline"


def test_kiosk_session_acts_as_the_kiosk_and_refuses_to_sell_unready(
        terminal_ctx: CoreContext) -> None:
    svc = build_session(KioskSession, terminal_ctx, "term-kiosk")
    ev = next(e for e in svc.events() if e.code == "SINATRA")
    hold = svc.hold_best(uuid.uuid4(), ev.id, 1)
    actor = svc.actor
    assert (actor.channel, actor.operator_id) == ("kiosk", None)
    # No printer on this kiosk: it must not take the customer's card.
    assert svc.readiness().reasons == ("printer",)
    with pytest.raises(BoxOfficeError) as refused:
        svc.pay(uuid.uuid4(), hold, "pm_card_visa")
    assert refused.value.code == "kiosk_not_ready"
    assert svc.release_all() == 1  # its own leftover hold, and nobody else's
