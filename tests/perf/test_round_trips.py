"""Regression guards (issue 16): the round trips and commits of a hold and of a cash and
a card checkout, counted on the wire (not timed). A change that adds one fails here and
has to say why in this file."""

from __future__ import annotations

import uuid

import pytest

from core.reservation import hold_best_available, hold_general_admission, hold_seats
from core.sales import CardTender, CashTender, checkout, open_shift
from tests.core.helpers import event_id, seats_of, section_id
from tests.perf.counting import counting

# The counts as of issue 16. round_trips = statements + BEGINs + COMMITs + ROLLBACKs;
# commits = COMMITs + autocommit statements that write (each a WAL flush).
# A best-available hold is one autocommit call of bo_hold_best (migration 0015).
BEST_AVAILABLE = {"round_trips": 1, "commits": 1, "statements": 1, "begins": 0,
                  "rollbacks": 0}
CHOSEN_SEATS = {"round_trips": 1, "commits": 1, "statements": 1, "begins": 0, "rollbacks": 0}
GENERAL_ADMISSION = {"round_trips": 1, "commits": 1, "statements": 1, "begins": 0,
                     "rollbacks": 0}
# One transaction: key claim, shift, hold lock, sale row, bo_confirm_sale, tickets,
# drawer, payment, result, audit, outbox; plus the key lookup before it.
CASH_CHECKOUT = {"round_trips": 20, "commits": 1, "statements": 18, "begins": 1,
                 "rollbacks": 0}
# Four commits after the hold, each needed: 'authorizing' (the sale row durable before
# the gateway's authorize), 'authorized' (the intent recorded; bo_confirm_sale of 0008
# accepts only an authorization recorded in an earlier transaction), the confirmation
# with 'capturing' (order and tickets durable before the capture), 'completed' (after the
# capture; without it the recovery sweeper would capture every sale again).
CARD_CHECKOUT = {"round_trips": 30, "commits": 4, "statements": 22, "begins": 4,
                 "rollbacks": 0}


@pytest.fixture(scope="module")
def shift(pctx, cashier):
    return open_shift(pctx, cashier, uuid.uuid4(), 10_000)


def _warm(pctx, cashier) -> None:
    """Connections made and first-use work done (key files, statement prepare), so the
    count is the steady state a busy till sees."""
    ev = event_id(pctx.engine, "SINATRA")
    for _ in range(3):
        hold_best_available(pctx, cashier, uuid.uuid4(), ev, 1)


def test_best_available_hold(pctx, cashier):
    _warm(pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    with counting(pctx.engine) as t:
        hold_best_available(pctx, cashier, uuid.uuid4(), ev, 2)
    # One call: key lock, window pick, allocation, hold, command log, audit link.
    assert t.summary() == BEST_AVAILABLE, t.statements


def test_chosen_seat_hold(pctx, cashier):
    _warm(pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    seat = seats_of(pctx.engine, ev, "BAL")[-1]
    with counting(pctx.engine) as t:
        hold_seats(pctx, cashier, uuid.uuid4(), ev, [seat])
    # One autocommit statement: key lock, seats, hold, prices, command log, audit link.
    assert t.summary() == CHOSEN_SEATS, t.statements


def test_general_admission_hold(pctx, cashier):
    _warm(pctx, cashier)
    ev = event_id(pctx.engine, "POKER-OPEN")
    ga = section_id(pctx.engine, ev, "ENTRADA")
    with counting(pctx.engine) as t:
        hold_general_admission(pctx, cashier, uuid.uuid4(), ev, ga, 2)
    assert t.summary() == GENERAL_ADMISSION, t.statements


def test_cash_checkout(pctx, cashier, shift):
    _warm(pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    h = hold_best_available(pctx, cashier, uuid.uuid4(), ev, 2)
    with counting(pctx.engine) as t:
        checkout(pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor + 500))
    # Cash makes no external call: the whole sale is one transaction.
    assert t.summary() == CASH_CHECKOUT, t.statements


def test_card_checkout(pctx, cashier, shift):
    _warm(pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    h = hold_best_available(pctx, cashier, uuid.uuid4(), ev, 2)
    with counting(pctx.engine) as t:
        res = checkout(pctx, cashier, uuid.uuid4(), h.hold_id,
                       CardTender("pm_card_visa", "visa", "4242"))
    assert not res.capture_pending
    assert t.summary() == CARD_CHECKOUT, t.statements
