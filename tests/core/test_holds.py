"""Hold, release, extend, expire and confirm: behaviour, idempotency, every error code.

Every terminal acts on its own login: counter-1 (ana signed in, her drawer open) holds,
releases, extends and sells on ``cashier_ctx``, where a confirmation is a cash checkout
(the database confirms a hold only with its payment recorded); counter-2, the kiosks and
the sweeper (a worker) on theirs. The owner's ``ctx`` seeds, moves the clock (ages
holds) and reads."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from core.actors import Actor
from core.errors import BoxOfficeError
from core.reservation import (
    availability,
    expire_holds,
    extend_hold,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
)
from core.sales import CashTender, checkout, open_shift
from tests.core.helpers import age_hold, event_id, invariants, key, seats_of, section_id


def _operator(ctx, login: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from operators where login = :l"),
                         {"l": login}).scalar_one()


@pytest.fixture(scope="module")
def counter(ctx, terminal_logins) -> Actor:
    """counter-1 with ana signed in: it sells on ``cashier_ctx``."""
    return terminal_logins.actor("counter-1", "cashier", _operator(ctx, "ana"), "cashier")


@pytest.fixture(scope="module", autouse=True)
def _drawer_open(cashier_ctx, counter) -> None:
    open_shift(cashier_ctx, counter, key(), 0)


@pytest.fixture(scope="module")
def counter_2(ctx, terminal_logins):
    """counter-2 on its own login, bruno signed in with his drawer open: (actor, context)."""
    actor = terminal_logins.actor("counter-2", "cashier", _operator(ctx, "bruno"), "cashier")
    own = terminal_logins.context("counter-2", "cashier", ctx.settings)
    open_shift(own, actor, key(), 0)
    return actor, own


def sell(cctx, actor, k, hold):
    """The hold sold for cash, exact change: a counter's confirmation."""
    return checkout(cctx, actor, k, hold.hold_id, CashTender(hold.total_minor)).order


@pytest.fixture(scope="module")
def sinatra(ctx):
    return event_id(ctx.engine, "SINATRA")


def code_of(fn, *args, **kw) -> str:
    with pytest.raises(BoxOfficeError) as exc:
        fn(*args, **kw)
    return exc.value.code


def test_hold_is_all_or_nothing(ctx, counter, sinatra, cashier_ctx):
    a, b, c = seats_of(ctx.engine, sinatra, "BAL")[:3]
    hold_seats(cashier_ctx, counter, key(), sinatra, [b])
    with pytest.raises(BoxOfficeError) as exc:
        hold_seats(cashier_ctx, counter, key(), sinatra, [a, b, c])
    assert exc.value.code == "seat_unavailable"
    assert exc.value.details["seat_ids"] == [b]
    av = availability(ctx.engine, sinatra)
    assert av.state_of(a) == "A" and av.state_of(c) == "A" and av.state_of(b) == "H"


def test_hold_quotes_tier_price_and_total(ctx, counter, sinatra, cashier_ctx):
    orq = seats_of(ctx.engine, sinatra, "ORQ")
    mez = seats_of(ctx.engine, sinatra, "MEZ")
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [orq[-1], mez[-1]])
    prices = sorted(ln.unit_price_minor for ln in h.lines)
    assert prices == [18000, 25000]
    assert h.total_minor == 43000 and h.currency == "BRL"


def test_confirm_keeps_quoted_price_after_price_change(ctx, counter, sinatra, cashier_ctx):
    seat = seats_of(ctx.engine, sinatra, "MEZ")[-2]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    with ctx.engine.begin() as c:
        c.execute(text("update price_tiers set current_minor = current_minor + 1000"
                       " where event_id = :e"), {"e": sinatra})
    o = sell(cashier_ctx, counter, key(), h)
    assert o.total_minor == h.total_minor == 18000
    assert [ln.seat_id for ln in o.lines] == [seat]
    with ctx.engine.begin() as c:
        c.execute(text("update price_tiers set current_minor = current_minor - 1000"
                       " where event_id = :e"), {"e": sinatra})
    assert availability(ctx.engine, sinatra).state_of(seat) == "S"


def test_same_key_returns_first_result_and_changes_nothing(ctx, counter, sinatra, cashier_ctx):
    k = key()
    seat = seats_of(ctx.engine, sinatra, "BAL")[10]
    first = hold_seats(cashier_ctx, counter, k, sinatra, [seat])
    again = hold_seats(cashier_ctx, counter, k, sinatra, [seat])
    assert again == first
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from holds h join hold_items hi on hi.hold_id ="
                           " h.id where hi.seat_id = :s"), {"s": seat}).scalar_one()
    assert n == 1
    ck = key()
    o1 = sell(cashier_ctx, counter, ck, first)
    o2 = sell(cashier_ctx, counter, ck, first)
    assert o1 == o2
    with ctx.engine.connect() as c:
        orders = c.execute(text("select count(*) from orders where hold_id = :h"),
                           {"h": first.hold_id}).scalar_one()
    assert orders == 1
    rk = key()
    best = hold_best_available(cashier_ctx, counter, rk, sinatra, 2)
    assert hold_best_available(cashier_ctx, counter, rk, sinatra, 2) == best
    r1 = release_hold(cashier_ctx, counter, key(), best.hold_id)
    assert r1.status == "released"


def test_same_key_other_request_is_a_conflict(ctx, counter, sinatra, cashier_ctx):
    k = key()
    s1, s2 = seats_of(ctx.engine, sinatra, "BAL")[20:22]
    hold_seats(cashier_ctx, counter, k, sinatra, [s1])
    assert code_of(hold_seats, cashier_ctx, counter, k, sinatra, [s2]) == "idempotency_conflict"


def test_release_frees_seats_and_is_repeatable(ctx, counter, sinatra, cashier_ctx):
    seat = seats_of(ctx.engine, sinatra, "BAL")[30]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    k = key()
    assert release_hold(cashier_ctx, counter, k, h.hold_id).status == "released"
    assert release_hold(cashier_ctx, counter, k, h.hold_id).status == "released"
    assert release_hold(cashier_ctx, counter, key(), h.hold_id).status == "released"
    assert availability(ctx.engine, sinatra).state_of(seat) == "A"
    assert code_of(sell, cashier_ctx, counter, key(), h) == "hold_not_active"


def test_expired_hold_counts_as_available_by_database_clock(ctx, counter, sinatra, cashier_ctx,
                                                            counter_2):
    other, octx = counter_2
    seat = seats_of(ctx.engine, sinatra, "BAL")[40]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    assert code_of(hold_seats, octx, other, key(), sinatra, [seat]) == "seat_unavailable"
    age_hold(ctx.engine, h.hold_id)
    assert availability(ctx.engine, sinatra).state_of(seat) == "A"
    # No sweeper ran: the lock query itself treats the expired hold as free.
    h2 = hold_seats(octx, other, key(), sinatra, [seat])
    assert code_of(sell, cashier_ctx, counter, key(), h) == "hold_expired"
    assert code_of(extend_hold, cashier_ctx, counter, key(), h.hold_id) == "hold_expired"
    sell(octx, other, key(), h2)
    assert invariants(ctx.engine) == []


def test_expired_hold_cannot_be_confirmed_even_if_seats_untouched(ctx, counter, sinatra,
                                                                  cashier_ctx):
    seat = seats_of(ctx.engine, sinatra, "BAL")[41]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    age_hold(ctx.engine, h.hold_id)
    assert code_of(sell, cashier_ctx, counter, key(), h) == "hold_expired"


def test_sweeper_expires_and_frees(ctx, counter, sinatra, cashier_ctx, terminal_logins):
    seat = seats_of(ctx.engine, sinatra, "BAL")[42]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    age_hold(ctx.engine, h.hold_id)
    sweeper = terminal_logins.actor("sweeper", "worker")
    sweeper_ctx = terminal_logins.context("sweeper", "worker", ctx.settings)
    assert expire_holds(sweeper_ctx, sweeper) >= 1
    with ctx.engine.connect() as c:
        status = c.execute(text("select status from holds where id = :h"),
                           {"h": h.hold_id}).scalar_one()
        es = c.execute(text("select status, hold_id from event_seats where seat_id = :s and"
                            " event_id = :e"), {"s": seat, "e": sinatra}).one()
    assert status == "expired" and es.status == "available" and es.hold_id is None
    assert invariants(ctx.engine) == []


def test_extend_is_bounded(ctx, counter, sinatra, cashier_ctx):
    seat = seats_of(ctx.engine, sinatra, "BAL")[50]
    h = hold_seats(cashier_ctx, counter, key(), sinatra, [seat])
    st = extend_hold(cashier_ctx, counter, key(), h.hold_id)
    # Added to the expiry, so extending a fresh hold never shortens it.
    assert st.extensions == 1
    assert st.expires_at == h.expires_at + timedelta(seconds=ctx.settings.holds.extend_s)
    with ctx.engine.connect() as c:
        seat_exp = c.execute(text("select hold_expires_at from event_seats where hold_id = :h"),
                             {"h": h.hold_id}).scalar_one()
    assert seat_exp == st.expires_at
    assert code_of(extend_hold, cashier_ctx, counter, key(), h.hold_id) == "extension_limit"


def test_foreign_hold_is_refused(ctx, counter, sinatra, cashier_ctx, terminal_logins):
    other = terminal_logins.actor("kiosk-9", "kiosk")
    seat = seats_of(ctx.engine, sinatra, "BAL")[60]
    h = hold_seats(terminal_logins.context("kiosk-9", "kiosk", ctx.settings), other, key(),
                   sinatra, [seat])
    # On counter-1's own login another terminal's hold is not even there to touch, nor to
    # sell; the owner's tools, which see it, refuse it as another terminal's.
    assert code_of(release_hold, cashier_ctx, counter, key(), h.hold_id) == "unknown_hold"
    assert code_of(sell, cashier_ctx, counter, key(), h) == "unknown_hold"
    assert code_of(release_hold, ctx, counter, key(), h.hold_id) == "foreign_hold"
    assert code_of(release_hold, cashier_ctx, counter, key(), uuid.uuid4()) == "unknown_hold"


def test_kiosk_holds_use_kiosk_lifetime(ctx, sinatra, terminal_logins):
    kiosk = terminal_logins.actor("kiosk-1", "kiosk")
    seat = seats_of(ctx.engine, sinatra, "BAL")[70]
    h = hold_seats(terminal_logins.context("kiosk-1", "kiosk", ctx.settings), kiosk, key(),
                   sinatra, [seat])
    with ctx.engine.connect() as c:
        secs = c.execute(text("select extract(epoch from expires_at - created_at) from holds"
                              " where id = :h"), {"h": h.hold_id}).scalar_one()
    assert int(secs) == ctx.settings.holds.kiosk_ttl_s


def test_error_codes_for_bad_input(ctx, counter, sinatra, cashier_ctx):
    cc = cashier_ctx  # counter-1's own login
    magic = event_id(ctx.engine, "MAGICA")
    poker = event_id(ctx.engine, "POKER-OPEN")
    cab_seat = seats_of(ctx.engine, event_id(ctx.engine, "BURLESCO"))[0]
    seat = seats_of(ctx.engine, sinatra, "BAL")[80]
    mx = ctx.settings.sales.max_seats_per_order
    assert code_of(hold_seats, cc, counter, key(), 999_999, [seat]) == "unknown_event"
    assert code_of(hold_seats, cc, counter, key(), sinatra, [987_654_321]) == "unknown_seat"
    assert code_of(hold_seats, cc, counter, key(), sinatra, [cab_seat]) == "seat_not_in_event"
    assert code_of(hold_seats, cc, counter, key(), sinatra, []) == "invalid_quantity"
    assert code_of(hold_best_available, cc, counter, key(), sinatra, 0) == "invalid_quantity"
    assert code_of(hold_best_available, cc, counter, key(), sinatra, -2) == "invalid_quantity"
    assert code_of(hold_best_available, cc, counter, key(), sinatra, mx + 1) == "too_many_seats"
    assert code_of(hold_seats, cc, counter, key(), sinatra, [seat, seat]) == "invalid_input"
    assert code_of(hold_seats, cc, counter, "not-a-uuid", sinatra, [seat]) == "invalid_input"
    ga = section_id(ctx.engine, poker, "ENTRADA")
    orq = section_id(ctx.engine, sinatra, "ORQ")
    assert code_of(hold_general_admission, cc, counter, key(), sinatra, orq, 2) \
        == "not_general_admission"
    assert code_of(hold_best_available, cc, counter, key(), poker, 2, [ga]) == "not_seated"
    assert code_of(hold_general_admission, cc, counter, key(), poker, 424242, 1) \
        == "unknown_section"
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'paused' where id = :e"), {"e": magic})
    assert code_of(hold_best_available, cc, counter, key(), magic, 2) == "event_paused"
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'closed' where id = :e"), {"e": magic})
    assert code_of(hold_best_available, cc, counter, key(), magic, 2) == "sales_closed"
    with ctx.engine.begin() as c:
        c.execute(text("update events set status = 'on_sale', sales_end = now() -"
                       " interval '1 minute' where id = :e"), {"e": magic})
    with pytest.raises(BoxOfficeError) as err:
        hold_best_available(cc, counter, key(), magic, 2)
    assert err.value.code == "sales_closed" and "window" in err.value.message("en")
    with ctx.engine.begin() as c:
        c.execute(text("update events set sales_end = starts_at + interval '30 minutes',"
                       " sales_start = now() + interval '1 day' where id = :e"), {"e": magic})
    assert code_of(hold_best_available, cc, counter, key(), magic, 2) == "sales_closed"
    with ctx.engine.begin() as c:
        c.execute(text("update events set sales_start = now() - interval '1 day'"
                       " where id = :e"), {"e": magic})
    assert hold_best_available(cc, counter, key(), magic, 2).quantity == 2


def test_messages_exist_in_both_languages():
    err = BoxOfficeError("seat_unavailable", seat_ids=[3, 4])
    assert "[3, 4]" in err.message("en") and "[3, 4]" in err.message("pt-BR")
    assert err.message("en") != err.message("pt-BR")
    with pytest.raises(ValueError):
        BoxOfficeError("no_such_code")


def test_ga_hold_counts_and_expiry_reclaim(ctx, counter, cashier_ctx):
    poker = event_id(ctx.engine, "POKER-OPEN")
    ga = section_id(ctx.engine, poker, "ENTRADA")
    before = availability(ctx.engine, poker).ga[0]
    h = hold_general_admission(cashier_ctx, counter, key(), poker, ga, 4)
    assert h.total_minor == 4 * 50000 and h.quantity == 4
    mid = availability(ctx.engine, poker).ga[0]
    assert mid.held == before.held + 4
    age_hold(ctx.engine, h.hold_id)
    assert availability(ctx.engine, poker).ga[0].held == before.held
    o = None
    h2 = hold_general_admission(cashier_ctx, counter, key(), poker, ga, 2)
    o = sell(cashier_ctx, counter, key(), h2)
    assert o.lines[0].qty == 2 and o.lines[0].seat_id is None
    after = availability(ctx.engine, poker).ga[0]
    assert after.sold == before.sold + 2
    assert invariants(ctx.engine) == []


def test_ga_sold_out_reclaims_expired_places(ctx, counter, cashier_ctx):
    from core.actors import system_actor
    from core.catalog import publish_event
    from core.uow import unit_of_work

    # A small GA event of its own so the capacity edge is reached quickly.
    with unit_of_work(ctx.engine) as c:
        venue = c.execute(text("insert into venues (code, name, timezone, stage_label) values"
                               " ('TINY', 'Tiny', 'UTC', 'S') returning id")).scalar_one()
        sec = c.execute(text("insert into sections (venue_id, code, name, kind, capacity,"
                             " sort_order) values (:v, 'GA', 'GA', 'ga', 5, 0) returning id"),
                        {"v": venue}).scalar_one()
        ev = c.execute(text("insert into events (code, venue_id, name, starts_at, sales_start,"
                            " sales_end, status, currency, description) values ('TINY1', :v,"
                            " 'Tiny', now() + interval '1 day', now() - interval '1 day',"
                            " now() + interval '1 day', 'draft', 'BRL', '') returning id"),
                       {"v": venue}).scalar_one()
        c.execute(text("insert into price_tiers (event_id, section_id, name, base_minor,"
                       " floor_minor, ceiling_minor, current_minor) values (:e, :s, 'GA', 1000,"
                       " 1000, 1000, 1000)"), {"e": ev, "s": sec})
        publish_event(c, system_actor(ctx.engine), ev)
    h = hold_general_admission(cashier_ctx, counter, key(), ev, sec, 5)
    assert code_of(hold_general_admission, cashier_ctx, counter, key(), ev, sec, 1) == "sold_out"
    age_hold(ctx.engine, h.hold_id)
    h2 = hold_general_admission(cashier_ctx, counter, key(), ev, sec, 5)
    assert h2.quantity == 5
    assert invariants(ctx.engine) == []
