"""Inventory a terminal's own login cannot bend (migration 0020).

A counter's and a kiosk's logins may update the columns a hold, a sale and a refund
write. Each attack below runs on a bare connection as such a login (what a thief with
the config file gets) and must be refused by PostgreSQL, while the same login's own flow
still holds, sells and refunds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from core.actors import Actor
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.reservation import availability, hold_best_available, hold_general_admission
from core.reservation.holds import release_hold
from core.sales import CashTender, SupervisorPin, checkout, open_shift, refund
from tests.logins import TerminalLogins, psycopg_url
from tests.printing.conftest import event_id
from tests.security.conftest import operator_id

EVENT = "COMEDIA-HOJE"


def _event(ctx: CoreContext, code: str = EVENT) -> int:
    return int(event_id(ctx, code))


def _operator(ctx: CoreContext, login: str) -> int:
    return operator_id(ctx.engine, login)


def _raw(logins: TerminalLogins, name: str, kind: str) -> Engine:
    return create_engine(psycopg_url(logins.login(name, kind).url), poolclass=NullPool)


def _refused(engine: Engine, sql: str, **params: Any) -> str:
    """Run ``sql`` in one transaction (checks at commit included); it must fail."""
    with pytest.raises(DBAPIError) as e, engine.begin() as c:
        c.execute(text(sql), params)
    return str(e.value.orig)


def _one(ctx: CoreContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as c:
        return c.execute(text(sql), params).one()


class Counter:
    """A counter on its own cashier login with ana's drawer open."""

    def __init__(self, ctx: CoreContext, logins: TerminalLogins, name: str) -> None:
        self.ctx = logins.new_context(name, "cashier", ctx.settings)
        self.actor: Actor = logins.actor(name, "cashier", _operator(ctx, "ana"), "cashier")
        open_shift(self.ctx, self.actor, uuid.uuid4(), 0)

    def sell(self, event_id: int, *, seats: int = 0, ga: int = 0) -> uuid.UUID:
        if ga:
            section = availability(self.ctx.engine, event_id).ga[0].section_id
            hold = hold_general_admission(self.ctx, self.actor, uuid.uuid4(), event_id,
                                          section, ga)
        else:
            hold = hold_best_available(self.ctx, self.actor, uuid.uuid4(), event_id, seats)
        sale = checkout(self.ctx, self.actor, uuid.uuid4(), hold.hold_id,
                        CashTender(hold.total_minor))
        return sale.order.order_id


@pytest.fixture(scope="module")
def logins(ctx: CoreContext) -> Iterator[TerminalLogins]:
    made = TerminalLogins(ctx.engine)
    yield made
    made.close()


@pytest.fixture(scope="module")
def counter(ctx: CoreContext, logins: TerminalLogins) -> Counter:
    return Counter(ctx, logins, "inv-counter-a")


@pytest.fixture(scope="module")
def thief(logins: TerminalLogins) -> Engine:
    """Another counter's login, in the wrong hands."""
    return _raw(logins, "inv-counter-b", "cashier")


@pytest.fixture(scope="module")
def kiosk_raw(logins: TerminalLogins) -> Engine:
    return _raw(logins, "inv-kiosk", "kiosk")


def test_a_sold_seat_goes_back_only_with_its_refund(ctx, counter, thief, kiosk_raw):
    order = counter.sell(_event(ctx), seats=1)
    seat = _one(ctx, "select seat_id, event_id from event_seats where order_id = :o", o=order)
    free = ("update event_seats set status = 'available', order_id = null"
            " where event_id = :e and seat_id = :s")
    for engine in (thief, kiosk_raw, _raw_of(counter)):
        msg = _refused(engine, free, e=seat.event_id, s=seat.seat_id)
        assert "status_change_refused" in msg or "row-level security" in msg, msg
    assert _one(ctx, "select status from event_seats where event_id = :e and seat_id = :s",
                e=seat.event_id, s=seat.seat_id).status == "sold"
    # The counter's own refund puts it back on sale.
    refund(counter.ctx, counter.actor, uuid.uuid4(), order, reason_code="customer_request")
    assert _one(ctx, "select status from event_seats where event_id = :e and seat_id = :s",
                e=seat.event_id, s=seat.seat_id).status == "available"


def test_a_ticket_is_voided_only_with_its_refund(ctx, counter, thief):
    order = counter.sell(_event(ctx), seats=1)
    serial = _one(ctx, "select serial from tickets where order_id = :o", o=order).serial
    void = "update tickets set status = 'void', voided_at = now() where serial = :s"
    for engine in (thief, _raw_of(counter)):
        assert "status_change_refused" in _refused(engine, void, s=serial)
    assert _one(ctx, "select status from tickets where serial = :s", s=serial).status == "valid"
    refund(counter.ctx, counter.actor, uuid.uuid4(), order, reason_code="customer_request")
    assert _one(ctx, "select status from tickets where serial = :s", s=serial).status == "void"


def _raw_of(c: Counter) -> Engine:
    return create_engine(c.ctx.engine.url, poolclass=NullPool)


def test_general_admission_counts_move_only_with_sales_and_holds(ctx, counter, kiosk_raw,
                                                                thief):
    ev = _event(ctx, "POKER-OPEN")
    order = counter.sell(ev, ga=2)
    section = _one(ctx, "select section_id from order_lines where order_id = :o",
                   o=order).section_id
    before = _one(ctx, "select held, sold from ga_inventory where event_id = :e"
                  " and section_id = :s", e=ev, s=section)
    assert before.sold >= 2
    where = " where event_id = :e and section_id = :s"
    # Selling the section again in full, marking it sold out, or making holds unconfirmable.
    assert "status_change_refused" in _refused(kiosk_raw, "update ga_inventory set sold = 0"
                                               + where, e=ev, s=section)
    assert "status_change_refused" in _refused(
        thief, "update ga_inventory set held = capacity - sold - leased" + where, e=ev, s=section)
    hold = hold_general_admission(counter.ctx, counter.actor, uuid.uuid4(), ev, section, 1)
    assert "status_change_refused" in _refused(kiosk_raw, "update ga_inventory set held = 0"
                                               + where, e=ev, s=section)
    after = _one(ctx, "select held, sold from ga_inventory where event_id = :e"
                 " and section_id = :s", e=ev, s=section)
    assert (after.held, after.sold) == (before.held + 1, before.sold)
    release_hold(counter.ctx, counter.actor, uuid.uuid4(), hold.hold_id)
    # A refund (over the counter's limit: carla approves) gives the places back.
    refund(counter.ctx, counter.actor, uuid.uuid4(), order, reason_code="customer_request",
           approver=SupervisorPin("carla", "9999"))
    assert _one(ctx, "select held, sold from ga_inventory where event_id = :e"
                " and section_id = :s", e=ev, s=section) == (before.held, before.sold - 2)


def test_a_kiosk_cannot_hold_seats_outside_its_own_holds(ctx, counter, kiosk_raw, logins):
    ev = _event(ctx)
    # The whole house, under a made-up hold, for hours.
    msg = _refused(kiosk_raw, "update event_seats set status = 'held', hold_id ="
                   " gen_random_uuid(), hold_expires_at = now() + interval '5 hours'"
                   " where event_id = :e and status = 'available'", e=ev)
    assert "status_change_refused" in msg
    # Its own hold, stretched past the hold's own expiry, or moved onto another event.
    kiosk_ctx = logins.new_context("inv-kiosk", "kiosk", ctx.settings)
    kiosk = logins.actor("inv-kiosk", "kiosk")
    mine = hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), ev, 1)
    assert "status_change_refused" in _refused(
        kiosk_raw, "update event_seats set hold_expires_at = now() + interval '5 hours'"
        " where hold_id = :h", h=mine.hold_id)
    other = _event(ctx, "SINATRA")
    assert "status_change_refused" in _refused(
        kiosk_raw, "update event_seats set status = 'held', hold_id = :h, hold_expires_at ="
        " (select expires_at from holds where id = :h) where event_id = :e and seat_id ="
        " (select min(seat_id) from event_seats where event_id = :e and status = 'available')",
        h=mine.hold_id, e=other)
    # A counter's live hold is not the kiosk's to release or take over.
    theirs = hold_best_available(counter.ctx, counter.actor, uuid.uuid4(), ev, 2)
    for sql in ("update event_seats set status = 'available', hold_id = null,"
                " hold_expires_at = null where hold_id = :theirs",
                "update event_seats set hold_id = :mine where hold_id = :theirs"):
        assert "foreign_hold" in _refused(kiosk_raw, sql, theirs=theirs.hold_id,
                                          mine=mine.hold_id)
    assert _one(ctx, "select count(*) as n from event_seats where hold_id = :h",
                h=theirs.hold_id).n == 2
    release_hold(counter.ctx, counter.actor, uuid.uuid4(), theirs.hold_id)
    release_hold(kiosk_ctx, kiosk, uuid.uuid4(), mine.hold_id)


def test_a_kiosk_holds_a_bounded_number_of_places(ctx, logins):
    ev = _event(ctx)
    kiosk_ctx = logins.new_context("inv-kiosk-cap", "kiosk", ctx.settings)
    kiosk = logins.actor("inv-kiosk-cap", "kiosk")
    with ctx.engine.begin() as c:
        c.execute(text("update bo_settings set value = '3'"
                       " where name = 'kiosk_max_held_places'"))
    try:
        first = hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), ev, 2)
        second = hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), ev, 2)
        with pytest.raises(BoxOfficeError) as e:
            hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), ev, 1)
        assert e.value.code == "hold_limit_reached"
        assert "3" in str(e.value)
        release_hold(kiosk_ctx, kiosk, uuid.uuid4(), first.hold_id)
        release_hold(kiosk_ctx, kiosk, uuid.uuid4(), second.hold_id)
        again = hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), ev, 2)
        release_hold(kiosk_ctx, kiosk, uuid.uuid4(), again.hold_id)
    finally:
        with ctx.engine.begin() as c:
            c.execute(text("update bo_settings set value = '20'"
                           " where name = 'kiosk_max_held_places'"))


def test_revoking_a_kiosk_puts_its_held_places_back_on_sale(ctx, logins):
    from core.provisioning import revoke_terminal

    seated, ga_event = _event(ctx), _event(ctx, "POKER-OPEN")
    kiosk_ctx = logins.new_context("inv-kiosk-stolen", "kiosk", ctx.settings)
    kiosk = logins.actor("inv-kiosk-stolen", "kiosk")
    seats = hold_best_available(kiosk_ctx, kiosk, uuid.uuid4(), seated, 3)
    section = availability(kiosk_ctx.engine, ga_event).ga[0].section_id
    held_before = _one(ctx, "select held from ga_inventory where event_id = :e"
                       " and section_id = :s", e=ga_event, s=section).held
    ga = hold_general_admission(kiosk_ctx, kiosk, uuid.uuid4(), ga_event, section, 2)
    kiosk_ctx.engine.dispose()
    done = revoke_terminal(ctx.engine, "inv-kiosk-stolen")
    assert done["holds_released"] == 2
    assert _one(ctx, "select count(*) as n from event_seats where hold_id = :h",
                h=seats.hold_id).n == 0
    assert _one(ctx, "select held from ga_inventory where event_id = :e and section_id = :s",
                e=ga_event, s=section).held == held_before
    assert {r.status for r in _all(ctx, "select status from holds where id in (:a, :b)",
                                   a=seats.hold_id, b=ga.hold_id)} == {"released"}


def _all(ctx: CoreContext, sql: str, **params: Any) -> list[Any]:
    with ctx.engine.connect() as c:
        return list(c.execute(text(sql), params))
