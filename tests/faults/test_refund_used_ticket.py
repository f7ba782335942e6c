"""Issue 13 item 13: refunding a ticket already used at the gate needs a supervisor (with
the refund's reason, recorded in the approval), and the counter can say when and where
it was used; an unused ticket of the same shift still needs none.

The counter sells and refunds on its own cashier login (the supervisor's PIN typed
there), the gates scan on gate logins; the owner's ``pctx`` reads."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.errors import BoxOfficeError
from core.reservation import hold_best_available
from core.sales import (
    CashTender,
    SupervisorPin,
    checkout,
    open_shift,
    refund,
    refund_needs_approval,
)
from core.sales.refunds import used_tickets
from core.tickets.checkin import check_in
from tests.core.helpers import event_id
from tests.payments.conftest import operator_id

CARLA = SupervisorPin("carla", "9999")


@pytest.fixture
def counter(pctx, terminal_logins):
    """A counter of its own (its login's context, its actor), ana's drawer open."""
    name = f"used-{uuid.uuid4().hex[:6]}"
    own = terminal_logins.new_context(name, "cashier", pctx.settings, pool_size=2,
                                      gateway=pctx.gateway)
    a = terminal_logins.actor(name, "cashier", operator_id(pctx, "ana"), "cashier")
    open_shift(own, a, uuid.uuid4(), 10_000)
    return own, a


def _sell(own, a: Actor, n: int = 1):
    h = hold_best_available(own, a, uuid.uuid4(), event_id(own.engine, "COMEDIA-HOJE"), n)
    return checkout(own, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))


def _scan(pctx, logins, serial: int, gate: str) -> None:
    with pctx.engine.connect() as c:
        token = c.execute(text("select token from tickets where serial = :s"),
                          {"s": serial}).scalar_one()
    name = f"gate-{gate}"
    own = logins.context(name, "gate", pctx.settings)
    assert check_in(own, logins.actor(name, "gate"), token, uuid.uuid4(), gate=gate).accepted


def test_a_used_ticket_needs_a_supervisor_and_says_when_and_where(pctx, counter,
                                                                  terminal_logins):
    own, seller = counter
    sale = _sell(own, seller, 2)
    used_serial = sale.ticket_serials[0]
    _scan(pctx, terminal_logins, used_serial, "north")
    order = sale.order.order_id

    used = used_tickets(own, order)
    assert [(u.serial, u.gate) for u in used] == [(used_serial, "north")]
    why = refund_needs_approval(own, seller, order)
    assert why is not None and str(used_serial) in why and "north" in why
    assert used[0].at()[-5:] in why  # HH:MM in the venue's time zone

    with pytest.raises(BoxOfficeError) as err:
        refund(own, seller, uuid.uuid4(), order, reason_code="service_issue")
    assert err.value.code == "approval_required" and "north" in err.value.message("en")

    done = refund(own, seller, uuid.uuid4(), order, reason_code="service_issue",
                  approver=CARLA)
    assert done.approval_id is not None and done.reason_code == "service_issue"
    with pctx.engine.connect() as c:
        reason = c.execute(text("select reason_code from approvals where id = :i"),
                           {"i": done.approval_id}).scalar_one()
    assert reason == "service_issue"


def test_only_the_used_line_needs_approval(pctx, counter, terminal_logins):
    own, seller = counter
    sale = _sell(own, seller, 2)
    _scan(pctx, terminal_logins, sale.ticket_serials[0], "south")
    order = sale.order.order_id
    lines = {ln.line_id for ln in sale.order.lines}
    with pctx.engine.connect() as c:
        unused_line = c.execute(text("select line_id from tickets where serial = :s"),
                                {"s": sale.ticket_serials[1]}).scalar_one()
    assert unused_line in lines
    assert refund_needs_approval(own, seller, order, [unused_line]) is None
    assert used_tickets(own, order, [unused_line]) == []
    refund(own, seller, uuid.uuid4(), order, reason_code="customer_request",
           line_ids=[unused_line])
