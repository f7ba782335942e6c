"""A stolen kiosk or counter login cannot write its own sale: the confirm step (seats
sold, order paid, tickets issued) runs in the database's ``bo_confirm_sale`` and
``bo_issue_tickets``, which check the hold, the amounts and the recorded payment.

Each attack runs on a real terminal login (what a thief with the config file gets) and
must be refused by PostgreSQL; the legitimate sale of the same login still works
(tests/security/test_flows.py sells by card on a kiosk and for cash at a counter)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.errors import BoxOfficeError
from core.reservation import confirm_in, hold_best_available, hold_general_admission
from core.sales import open_shift
from core.tickets.issue import issue_tickets_in
from core.uow import unit_of_work
from tests.printing.conftest import event_id
from tests.security.conftest import actor_for, raw_engine, terminal_context

EVENT = "COMEDIA-HOJE"
CONFIRM = ("select * from bo_confirm_sale(:hold, :order, null, null, :ref, :sale, :shift, null,"
           " :expected, false)")


@pytest.fixture(scope="module")
def kiosk(provision, tmp_path_factory):
    t = provision("kiosk", "sec-kiosk-sale")
    c = terminal_context(t, tmp_path_factory.mktemp("kiosk-sale"))
    yield t, c, actor_for(t)
    c.engine.dispose()


@pytest.fixture(scope="module")
def counter_login(provision, tmp_path_factory):
    t = provision("cashier", "sec-counter-sale")
    c = terminal_context(t, tmp_path_factory.mktemp("counter-sale"))
    yield t, c, actor_for(t)
    c.engine.dispose()


def _hold(c, actor, ctx, seats: int = 1):
    return hold_best_available(c, actor, uuid.uuid4(), event_id(ctx, EVENT), seats)


def _refused(engine, sql: str, **params) -> str:
    with pytest.raises(DBAPIError) as e, engine.begin() as conn:
        for stmt in sql.split(";;"):
            conn.execute(text(stmt), params)
    return str(e.value.orig)


def _state(ctx, hold_id):
    with ctx.engine.connect() as c:
        seats = c.execute(text("select es.status from event_seats es join hold_items hi"
                               " on hi.seat_id = es.seat_id and hi.event_id = es.event_id"
                               " where hi.hold_id = :h"), {"h": hold_id}).scalars().all()
        orders = c.execute(text("select count(*) from orders where hold_id = :h"),
                           {"h": hold_id}).scalar_one()
    return seats, orders


def test_kiosk_cannot_write_a_paid_order_directly(ctx, kiosk):
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    msg = _refused(raw_engine(t), "insert into orders (id, event_id, hold_id, terminal_id,"
                   " status, total_minor, currency, payment_ref) values (gen_random_uuid(),"
                   " :ev, :h, :t, 'paid', 1, 'BRL', 'pi_free')",
                   ev=event_id(ctx, EVENT), h=h.hold_id, t=t.terminal_id)
    assert "permission denied" in msg
    assert "permission denied" in _refused(
        raw_engine(t), "insert into order_lines (order_id, event_id, section_id, qty,"
        " unit_price_minor, tier_id, status) select id, event_id, 1, 1, 1, 1, 'sold'"
        " from orders limit 1")
    assert _state(ctx, h.hold_id) == (["held"], 0)


def test_kiosk_cannot_mark_its_held_seat_sold(ctx, kiosk):
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    msg = _refused(raw_engine(t), "update event_seats set status = 'sold', hold_id = null"
                   " where hold_id = :h", h=h.hold_id)
    assert "status_change_refused" in msg
    assert _state(ctx, h.hold_id) == (["held"], 0)


def test_kiosk_cannot_count_general_admission_as_sold(ctx, kiosk):
    t, _, _ = kiosk
    msg = _refused(raw_engine(t), "update ga_inventory set sold = sold + 1, held = held")
    assert "status_change_refused" in msg


def test_kiosk_cannot_free_a_seat_sold_to_someone_else(ctx, kiosk, counter):
    """Sold back to 'available' would sell the seat twice."""
    from tests.printing.conftest import sell

    order, _ = sell(ctx, counter, EVENT, seats=1)
    seat = order.lines[0].seat_id
    t, _, _ = kiosk
    msg = _refused(raw_engine(t), "update event_seats set status = 'available', order_id = null"
                   " where seat_id = :s", s=seat)
    assert "status_change_refused" in msg


def test_kiosk_cannot_mint_tickets(ctx, kiosk, counter):
    from tests.printing.conftest import sell

    order, [ticket] = sell(ctx, counter, EVENT, seats=1)
    t, _, _ = kiosk
    assert "permission denied" in _refused(
        raw_engine(t), "insert into tickets (serial, order_id, line_id, unit, event_id,"
        " section_id, unit_price_minor, currency, tier_id, key_id, token, terminal_id, status,"
        " print_count, reprint_count) values (nextval('ticket_serial_seq'), :o, :l, 2, :e, 1,"
        " 0, 'BRL', 1, 'k', 'x', :t, 'valid', 0, 0)",
        o=order.order_id, l=ticket.line_id, e=order.event_id, t=t.terminal_id)
    # Through the function: not another terminal's order, not twice.
    assert "not_authorized" in _refused(
        raw_engine(t), "select bo_issue_tickets(:o, null, null, 'k', array[:l]::bigint[],"
        " array[2], array[nextval('ticket_serial_seq')], array['x'])",
        o=order.order_id, l=ticket.line_id)


def test_hold_prices_come_from_the_price_tiers(ctx, kiosk):
    """A seller's hold item written at 1 centavo is stored at the tier's price."""
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    with raw_engine(t).begin() as conn:
        conn.execute(text("insert into hold_items (hold_id, event_id, section_id, seat_id,"
                          " qty, unit_price_minor, tier_id) select hold_id, event_id,"
                          " section_id, null, 1, 1, tier_id from hold_items where hold_id = :h"
                          " limit 1"), {"h": h.hold_id})
        prices = conn.execute(text("select distinct unit_price_minor from hold_items"
                                   " where hold_id = :h"), {"h": h.hold_id}).scalars().all()
    with ctx.engine.connect() as conn:
        tier = conn.execute(text("select pt.current_minor from price_tiers pt join hold_items"
                                 " hi on hi.tier_id = pt.id where hi.hold_id = :h limit 1"),
                            {"h": h.hold_id}).scalar_one()
    assert prices == [tier] and tier > 1


def test_confirm_refuses_a_forged_amount(ctx, kiosk):
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    # The total the client claims, and a hold total rewritten by the login itself.
    msg = _refused(raw_engine(t), CONFIRM, hold=h.hold_id, order=uuid.uuid4(), ref="x",
                   sale=None, shift=None, expected=1)
    assert "amount_mismatch" in msg
    # The hold's total is not the login's to rewrite...
    assert "permission denied" in _refused(
        raw_engine(t), "update holds set total_minor = 1 where id = :hold", hold=h.hold_id)
    # ...and items slipped into the hold after its total was quoted do not go unpaid.
    msg = _refused(raw_engine(t), "insert into hold_items (hold_id, event_id, section_id,"
                   " seat_id, qty, unit_price_minor, tier_id) select hold_id, event_id,"
                   " section_id, null, 5, 0, tier_id from hold_items where hold_id = :hold"
                   " limit 1;;" + CONFIRM, hold=h.hold_id, order=uuid.uuid4(), ref="x",
                   sale=None, shift=None, expected=None)
    assert "amount_mismatch" in msg
    assert _state(ctx, h.hold_id) == (["held"], 0)


def test_confirm_refuses_another_terminals_hold(ctx, kiosk, counter_login):
    t, c, actor = kiosk
    theirs = _hold(counter_login[1], counter_login[2], ctx)
    msg = _refused(raw_engine(t), CONFIRM, hold=theirs.hold_id, order=uuid.uuid4(), ref="x",
                   sale=None, shift=None, expected=None)
    assert "foreign_hold" in msg
    with pytest.raises(BoxOfficeError) as e, unit_of_work(c.engine) as conn:
        confirm_in(conn, actor, theirs.hold_id, "x")
    assert e.value.code == "foreign_hold"
    assert _state(ctx, theirs.hold_id) == (["held"], 0)


def test_confirm_refuses_a_sale_without_a_recorded_payment(ctx, kiosk):
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    with pytest.raises(BoxOfficeError) as e, unit_of_work(c.engine) as conn:
        confirm_in(conn, actor, h.hold_id, "pi_never_charged")
    assert e.value.code == "payment_unverified"
    # An authorization the login writes and uses in one go is not one recorded before.
    sale = uuid.uuid4()
    msg = _refused(
        raw_engine(t), "insert into sales (id, key, hold_id, terminal_id, channel, tender, state,"
        " version, amount_minor, currency, attempts, intent_id) values (:sale,"
        " gen_random_uuid(), :hold, :t, 'kiosk', 'card', 'authorized', 0, :amt, 'BRL', 0,"
        " 'pi_fake');; insert into payments (sale_id, kind, method, status, amount_minor,"
        " currency, gateway_ref) values (:sale, 'charge', 'card', 'authorized', :amt, 'BRL',"
        " 'pi_fake');;" + CONFIRM.replace(":expected", ":amt"),
        sale=sale, hold=h.hold_id, t=t.terminal_id, amt=h.total_minor, order=uuid.uuid4(),
        ref="pi_fake", shift=None)
    assert "payment_unverified" in msg
    assert _state(ctx, h.hold_id) == (["held"], 0)


def test_kiosk_cannot_record_a_payment_for_another_terminals_sale(ctx, kiosk, counter):
    t, _, _ = kiosk
    h = _hold(ctx, counter, ctx)
    other = uuid.uuid4()
    with ctx.engine.begin() as conn:  # a card sale of another terminal, as its owner wrote it
        conn.execute(text("insert into sales (id, key, hold_id, terminal_id, channel, tender,"
                          " state, version, amount_minor, currency, attempts) values (:s,"
                          " gen_random_uuid(), :h, :t, 'counter', 'card', 'authorizing', 0, 1,"
                          " 'BRL', 0)"), {"s": other, "h": h.hold_id, "t": counter.terminal_id})
    msg = _refused(raw_engine(t), "insert into payments (sale_id, kind, method, status,"
                   " amount_minor, currency) values (:s, 'charge', 'card', 'authorized', 1,"
                   " 'BRL')", s=other)
    assert "row-level security" in msg


def test_counter_cash_needs_its_own_open_shift(ctx, counter_login):
    t, c, _ = counter_login
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    h = _hold(c, actor, ctx)
    sale = uuid.uuid4()
    msg = _refused(
        raw_engine(t), "insert into sales (id, key, hold_id, terminal_id, channel, tender, state,"
        " version, amount_minor, currency, attempts) values (:sale, gen_random_uuid(), :hold,"
        " :t, 'counter', 'cash', 'completed', 0, :amt, 'BRL', 0);;"
        + CONFIRM.replace(":expected", ":amt"),
        sale=sale, hold=h.hold_id, t=t.terminal_id, amt=h.total_minor, order=uuid.uuid4(),
        ref=f"cash:{sale}", shift=None)
    assert "payment_unverified" in msg
    # With its shift open, the same counter sells for cash (the legitimate path).
    from core.sales import CashTender, checkout

    open_shift(c, actor, uuid.uuid4(), 10_000)
    res = checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert res.order.total_minor == h.total_minor and res.ticket_serials


def test_counter_cannot_write_an_order_outside_its_lease(ctx, counter_login):
    """A counter inserts no order itself (0014: offline sales too go through
    bo_confirm_leased_sale)."""
    t, c, actor = counter_login
    h = _hold(c, actor, ctx)
    msg = _refused(raw_engine(t), "insert into orders (id, event_id, hold_id, terminal_id,"
                   " status, total_minor, currency, payment_ref) values (gen_random_uuid(),"
                   " :ev, :h, :t, 'paid', 1, 'BRL', 'cash:free')",
                   ev=event_id(ctx, EVENT), h=h.hold_id, t=t.terminal_id)
    assert "permission denied" in msg


def test_a_hold_cannot_park_seats_for_a_year(ctx, kiosk):
    t, c, actor = kiosk
    h = _hold(c, actor, ctx)
    assert "row-level security" in _refused(
        raw_engine(t), "update holds set expires_at = now() + interval '1 year' where id = :h",
        h=h.hold_id)
    assert "row-level security" in _refused(
        raw_engine(t), "update event_seats set hold_expires_at = now() + interval '1 year'"
        " where hold_id = :h", h=h.hold_id)


def test_general_admission_sale_by_the_owner_still_issues_one_ticket_per_place(ctx, counter):
    """The functions serve the owner's tools too (comps, the demo): GA units line up."""
    ev = event_id(ctx, "POKER-OPEN")
    from core.reservation import availability

    section = availability(ctx.engine, ev).ga[0].section_id
    h = hold_general_admission(ctx, counter, uuid.uuid4(), ev, section, 3)
    with unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, counter, h.hold_id, "cash:owner")
        tickets = issue_tickets_in(conn, counter, order, ctx.signer())
    assert sorted(tk.unit for tk in tickets) == [1, 2, 3]
    assert {tk.unit_price_minor for tk in tickets} == {order.lines[0].unit_price_minor}
