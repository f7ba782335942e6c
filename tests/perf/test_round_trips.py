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
# A read (the tickets' serials, the database clock, a sale of this key), the tokens
# signed here, then one call of bo_cash_sale (migration 0015): key claim, shift, hold,
# sale row, bo_confirm_sale, tickets, drawer, payment, result, audit, outbox. Was 20
# round trips in one transaction.
CASH_CHECKOUT = {"round_trips": 2, "commits": 1, "statements": 2, "begins": 0,
                 "rollbacks": 0}
# Three calls, each its own commit, each needed:
# 1. bo_card_begin: the sale row 'authorizing' and its payment row 'pending', durable
#    before the gateway's authorize (a crash after it is settled by looking up the
#    intents made for the sale and voiding them);
# 2. bo_card_confirm: the authorization recorded, the order and its tickets, 'capturing',
#    durable before the capture (after a crash the sweeper captures: the customer may
#    hold printed tickets); bo_confirm_sale still sells only against a payment row
#    written in an earlier transaction (the one of step 1);
# 3. bo_sale_move 'completed' after the capture, without waiting for the WAL flush
#    (synchronous_commit off): if it is lost, the sweeper captures again with the same
#    key and the gateway answers with the same capture. Without it every sale would be
#    captured twice.
# Was 30 round trips and 4 commits ('authorized' was a commit of its own).
CARD_CHECKOUT = {"round_trips": 3, "commits": 3, "statements": 3, "begins": 0,
                 "rollbacks": 0}


@pytest.fixture(scope="module")
def shift(cashier_pctx, cashier):
    return open_shift(cashier_pctx, cashier, uuid.uuid4(), 10_000)


def _warm(cashier_pctx, cashier) -> None:
    """Connections made and first-use work done (key files, statement prepare), so the
    count is the steady state a busy till sees."""
    ev = event_id(cashier_pctx.engine, "SINATRA")
    for _ in range(3):
        hold_best_available(cashier_pctx, cashier, uuid.uuid4(), ev, 1)


def test_best_available_hold(pctx, cashier_pctx, cashier):
    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    with counting(cashier_pctx.engine) as t:
        hold_best_available(cashier_pctx, cashier, uuid.uuid4(), ev, 2)
    # One call: key lock, window pick, allocation, hold, command log, audit link.
    assert t.summary() == BEST_AVAILABLE, t.statements


def test_chosen_seat_hold(pctx, cashier_pctx, cashier):
    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    seat = seats_of(pctx.engine, ev, "BAL")[-1]
    with counting(cashier_pctx.engine) as t:
        hold_seats(cashier_pctx, cashier, uuid.uuid4(), ev, [seat])
    # One autocommit statement: key lock, seats, hold, prices, command log, audit link.
    assert t.summary() == CHOSEN_SEATS, t.statements


def test_general_admission_hold(pctx, cashier_pctx, cashier):
    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "POKER-OPEN")
    ga = section_id(pctx.engine, ev, "ENTRADA")
    with counting(cashier_pctx.engine) as t:
        hold_general_admission(cashier_pctx, cashier, uuid.uuid4(), ev, ga, 2)
    assert t.summary() == GENERAL_ADMISSION, t.statements


def test_cash_checkout(pctx, cashier_pctx, cashier, shift):
    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    h = hold_best_available(cashier_pctx, cashier, uuid.uuid4(), ev, 2)
    with counting(cashier_pctx.engine) as t:
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor + 500))
    # Cash makes no external call: the whole sale is one call, one commit.
    assert t.summary() == CASH_CHECKOUT, t.statements


def test_card_checkout(pctx, cashier_pctx, cashier, shift):
    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    h = hold_best_available(cashier_pctx, cashier, uuid.uuid4(), ev, 2)
    with counting(cashier_pctx.engine) as t:
        res = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id,
                       CardTender("pm_card_visa", "visa", "4242"))
    assert not res.capture_pending
    assert t.summary() == CARD_CHECKOUT, t.statements


# An accepted scan: one call of bo_check_in (key, ticket, check-in row, outbox, answer).
# Was 6 (BEGIN, key claim, accept, outbox, result, COMMIT).
CHECK_IN = {"round_trips": 1, "commits": 1, "statements": 1, "begins": 0, "rollbacks": 0}


def _token(pctx, serial: int) -> str:
    from sqlalchemy import text

    with pctx.engine.connect() as c:
        return c.execute(text("select token from tickets where serial = :s"),
                         {"s": serial}).scalar_one()


def test_check_in(pctx, cashier_pctx, cashier, shift, terminal_logins):
    from core.tickets import GateChecker

    ev = event_id(pctx.engine, "COMEDIA-HOJE")
    h = hold_best_available(cashier_pctx, cashier, uuid.uuid4(), ev, 2)
    sold = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    # The gate scans on its own login (bo_check_in is the gates').
    gctx = terminal_logins.new_context("perf-gate", "gate", pctx.settings)
    gate = GateChecker(gctx, terminal_logins.actor("perf-gate", "gate"), "PERF")
    gate.scan(_token(pctx, sold.ticket_serials[0]), uuid.uuid4())  # warm
    token = _token(pctx, sold.ticket_serials[1])
    with counting(gctx.engine) as t:
        got = gate.scan(token, uuid.uuid4())
    assert got.accepted, got
    assert t.summary() == CHECK_IN, t.statements
    # A second scan is refused (already used) by the slow path, which says why.
    again = gate.scan(token, uuid.uuid4())
    assert not again.accepted and again.reason == "already_used"


def test_one_statement_holds_fit_psycopgs_parse_cache():
    """psycopg caches its conversion of a query only up to 4,096 bytes: a hold statement
    that grows past it is parsed again on every call (about half a millisecond)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH
    from sqlalchemy.dialects import postgresql

    from core.reservation import onestatement

    dialect = postgresql.psycopg.dialect()
    for stmt in (onestatement.HOLD_SEATS_ONE, onestatement.HOLD_GA_ONE,
                 onestatement.HOLD_BEST):
        sent = str(stmt.compile(dialect=dialect)).encode()
        assert len(sent) <= MAX_CACHED_STATEMENT_LENGTH, len(sent)


# A buyer who loses a chosen seat (the usual answer on hot seats): the hold statement
# says which seats are taken and stores the refusal under the key itself. Was 4 (the
# statement, then BEGIN, the refusal, COMMIT).
LOST_SEAT = {"round_trips": 1, "commits": 1, "statements": 1, "begins": 0, "rollbacks": 0}


def test_lost_chosen_seat(pctx, cashier_pctx, cashier):
    from core.errors import BoxOfficeError

    _warm(cashier_pctx, cashier)
    ev = event_id(pctx.engine, "SINATRA")
    seat = seats_of(pctx.engine, ev, "BAL")[-2]
    first = hold_seats(cashier_pctx, cashier, uuid.uuid4(), ev, [seat])
    k = uuid.uuid4()
    with counting(cashier_pctx.engine) as t, pytest.raises(BoxOfficeError) as e:
        hold_seats(cashier_pctx, cashier, k, ev, [seat])
    assert e.value.code == "seat_unavailable" and e.value.details["seat_ids"] == [seat]
    assert t.summary() == LOST_SEAT, t.statements
    # A copy of the lost command gets the same answer, even once the seat is free again.
    from core.reservation import release_hold

    release_hold(cashier_pctx, cashier, uuid.uuid4(), first.hold_id)
    with pytest.raises(BoxOfficeError) as again:
        hold_seats(cashier_pctx, cashier, k, ev, [seat])
    assert again.value.code == "seat_unavailable"
