"""Issuing and voiding tickets inside the caller's transaction; the terminal's key.

Every sale, issue and void runs on a terminal's own login (counter-1's cashier login, a
fresh kiosk's), where the database decides what it may write; the owner's ``ctx`` reads."""

from __future__ import annotations

import stat
import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, refund
from core.sales.saga import cash_sale_in
from core.tickets import issue_tickets_in, load_public_keys, parse, void_tickets_in
from core.tickets.keys import key_path
from core.tickets.token import KIND_GA, KIND_SEAT
from core.uow import unit_of_work
from tests.printing.conftest import event_id, sell, tickets_of
from tests.terminal_fixtures import terminal_settings


def _keys(ctx):
    with ctx.engine.connect() as c:
        return load_public_keys(c)


def test_signer_key_is_private_registered_and_cached(ctx, seller_ctx, terminal_logins):
    signer = seller_ctx.signer()
    assert seller_ctx.signer() is signer
    path = key_path(seller_ctx.settings.terminal.data_dir, seller_ctx.settings.terminal.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with ctx.engine.connect() as c:
        row = c.execute(text("select public_key, key_id from terminals where name = :n"),
                        {"n": seller_ctx.settings.terminal.name}).one()
    assert bytes(row.public_key) == signer.public_key and row.key_id == signer.key_id
    # A second process of the same terminal (same data dir, same login) reads the same key.
    other = terminal_logins.new_context("counter-1", "cashier", ctx.settings, pool_size=1)
    assert other.signer().key_id == signer.key_id


def test_seated_order_gets_one_signed_ticket_per_seat(ctx, counter):
    order, tickets = sell(ctx, counter, seats=3)
    assert len(tickets) == 3
    assert {t.seat_id for t in tickets} == {ln.seat_id for ln in order.lines}
    assert len({t.serial for t in tickets}) == 3
    assert all(t.status == "valid" and t.print_count == 0 for t in tickets)
    keys = _keys(ctx)
    for t in tickets:
        p = parse(t.token)
        assert p.verify(keys[p.claims.key_id])
        assert p.claims.serial == t.serial and p.claims.kind == KIND_SEAT
        assert p.claims.place_id == t.seat_id and p.claims.event_id == order.event_id
    with ctx.engine.connect() as c:
        audited = c.execute(text("select payload from audit_log where action = 'issue_tickets'"
                                 " and payload like :p"), {"p": f"%{order.order_id}%"}).all()
    assert len(audited) == 1


def test_ga_order_gets_one_ticket_per_unit_and_repeat_returns_same(ctx, counter,
                                                                   seller_ctx):
    order, tickets = sell(ctx, counter, "POKER-OPEN", ga=4)
    assert [t.unit for t in tickets] == [1, 2, 3, 4]
    assert all(parse(t.token).claims.kind == KIND_GA for t in tickets)
    with unit_of_work(seller_ctx.engine) as conn:
        again = issue_tickets_in(conn, counter, order, seller_ctx.signer())
    assert [t.serial for t in again] == [t.serial for t in tickets]


def test_tickets_roll_back_with_the_callers_transaction(ctx, counter, seller_ctx):
    ev = event_id(ctx, "SINATRA")
    hold = hold_best_available(seller_ctx, counter, uuid.uuid4(), ev, 2)
    with pytest.raises(RuntimeError), unit_of_work(seller_ctx.engine) as conn:
        sale = cash_sale_in(conn, seller_ctx, counter, uuid.uuid4(), hold.hold_id,
                            CashTender(hold.total_minor))
        assert len(sale.ticket_serials) == 2
        assert len(tickets_of(ctx, sale.order.order_id)) == 0  # not committed yet
        raise RuntimeError("saga step failed after issuing")
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from tickets where order_id = :o"),
                      {"o": sale.order.order_id}).scalar_one()
        orders = c.execute(text("select count(*) from orders where id = :o"),
                           {"o": sale.order.order_id}).scalar_one()
    assert n == 0 and orders == 0


def test_void_by_line_then_all_revokes_each_once(ctx, counter, seller_ctx):
    # A terminal voids tickets only with their refund (migration 0020): the counter
    # refunds one line, then the rest; each ticket is voided and revoked once.
    order, tickets = sell(ctx, counter, seats=3)
    first = tickets[0].line_id
    refund(seller_ctx, counter, uuid.uuid4(), order.order_id, reason_code="customer_request",
           line_ids=[first])
    assert _statuses(ctx, order.order_id) == {tickets[0].serial: "void",
                                              tickets[1].serial: "valid",
                                              tickets[2].serial: "valid"}
    with pytest.raises(BoxOfficeError):  # that line is refunded already: nothing more
        refund(seller_ctx, counter, uuid.uuid4(), order.order_id,
               reason_code="customer_request", line_ids=[first])
    refund(seller_ctx, counter, uuid.uuid4(), order.order_id, reason_code="customer_request")
    # A void of what is void already (the refund's own step, repeated) voids nothing.
    with unit_of_work(seller_ctx.engine) as conn:
        assert void_tickets_in(conn, counter, order.order_id, [first], "refund") == 0
    with ctx.engine.connect() as c:
        revoked = c.execute(text("select serial from revocations where ticket_id in"
                                 " (select id from tickets where order_id = :o)"),
                            {"o": order.order_id}).scalars().all()
    assert sorted(revoked) == sorted(t.serial for t in tickets)
    assert set(_statuses(ctx, order.order_id).values()) == {"void"}


def _statuses(ctx, order_id) -> dict[int, str]:
    with ctx.engine.connect() as c:
        return dict(c.execute(text("select serial, status from tickets where order_id = :o"),
                              {"o": order_id}).all())


def test_a_fresh_kiosks_first_sale_enrolls_its_key_without_waiting_on_itself(
        ctx, db_url, tmp_path, sandbox, terminal_logins):
    """A kiosk's first ticket signer is made by its first sale: the key is enrolled from
    its own login (its first key only) before the sale's transaction, whose row locks on
    this terminal would otherwise make the enrolment wait on itself (a short statement
    timeout turns such a wait into a failure)."""
    settings = terminal_settings(db_url, tmp_path, sandbox, terminal__name="fresh-kiosk",
                                 terminal__kind="kiosk", database__statement_timeout_ms=5000)
    fresh = terminal_logins.new_context("fresh-kiosk", "kiosk", settings,
                                        gateway=build_gateway(settings))
    try:
        actor = terminal_logins.actor("fresh-kiosk", "kiosk")
        assert fresh._signer is None  # nothing has signed on this terminal yet
        hold = hold_best_available(fresh, actor, uuid.uuid4(), event_id(ctx, "SINATRA"), 1)
        sale = checkout(fresh, actor, uuid.uuid4(), hold.hold_id,
                        CardTender("pm_card_visa", "VISA", "4242"))
        [ticket] = tickets_of(ctx, sale.order.order_id)
        p = parse(ticket.token)
        assert p.claims.key_id == fresh.signer().key_id
        assert p.verify(_keys(ctx)[p.claims.key_id])
    finally:
        fresh.gateway.close()
