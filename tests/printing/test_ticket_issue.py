"""Issuing and voiding tickets inside the caller's transaction; the terminal's key."""

from __future__ import annotations

import stat
import uuid

import pytest
from sqlalchemy import text

from core.app_context import build_context
from core.reservation import confirm_in, hold_best_available
from core.tickets import issue_tickets_in, load_public_keys, parse, void_tickets_in
from core.tickets.keys import key_path
from core.tickets.token import KIND_GA, KIND_SEAT
from core.uow import unit_of_work
from tests.printing.conftest import event_id, sell


def _keys(ctx):
    with ctx.engine.connect() as c:
        return load_public_keys(c)


def test_signer_key_is_private_registered_and_cached(ctx):
    signer = ctx.signer()
    assert ctx.signer() is signer
    path = key_path(ctx.settings.terminal.data_dir, ctx.settings.terminal.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with ctx.engine.connect() as c:
        row = c.execute(text("select public_key, key_id from terminals where name = :n"),
                        {"n": ctx.settings.terminal.name}).one()
    assert bytes(row.public_key) == signer.public_key and row.key_id == signer.key_id
    # A second process of the same terminal (same data dir) reads the same key.
    other = build_context(ctx.settings, url=ctx.engine.url.render_as_string(False))
    try:
        assert other.signer().key_id == signer.key_id
    finally:
        other.engine.dispose()


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


def test_ga_order_gets_one_ticket_per_unit_and_repeat_returns_same(ctx, counter):
    order, tickets = sell(ctx, counter, "POKER-OPEN", ga=4)
    assert [t.unit for t in tickets] == [1, 2, 3, 4]
    assert all(parse(t.token).claims.kind == KIND_GA for t in tickets)
    with unit_of_work(ctx.engine) as conn:
        again = issue_tickets_in(conn, counter, order, ctx.signer())
    assert [t.serial for t in again] == [t.serial for t in tickets]


def test_tickets_roll_back_with_the_callers_transaction(ctx, counter):
    ev = event_id(ctx, "SINATRA")
    hold = hold_best_available(ctx, counter, uuid.uuid4(), ev, 2)
    signer = ctx.signer()
    with pytest.raises(RuntimeError), unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, counter, hold.hold_id, "card:pi_x")
        assert len(issue_tickets_in(conn, counter, order, signer)) == 2
        raise RuntimeError("saga step failed after issuing")
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from tickets where order_id = :o"),
                      {"o": order.order_id}).scalar_one()
    assert n == 0


def test_void_by_line_then_all_revokes_each_once(ctx, counter):
    order, tickets = sell(ctx, counter, seats=3)
    first = tickets[0].line_id
    with unit_of_work(ctx.engine) as conn:
        assert void_tickets_in(conn, counter, order.order_id, [first], "refund") == 1
    with unit_of_work(ctx.engine) as conn:
        assert void_tickets_in(conn, counter, order.order_id, [first], "refund") == 0
        assert void_tickets_in(conn, counter, order.order_id, None, "refund rest") == 2
    with ctx.engine.connect() as c:
        revoked = c.execute(text("select serial from revocations where ticket_id in"
                                 " (select id from tickets where order_id = :o)"),
                            {"o": order.order_id}).scalars().all()
        statuses = c.execute(text("select distinct status from tickets where order_id = :o"),
                             {"o": order.order_id}).scalars().all()
    assert sorted(revoked) == sorted(t.serial for t in tickets)
    assert statuses == ["void"]


def test_first_signer_use_inside_the_sale_transaction_does_not_wait_on_itself(
        ctx, db_url, tmp_path):
    """The saga may call ctx.signer() for the first time inside its confirm transaction,
    which already holds a key-share lock on this terminal's row (orders.terminal_id)."""
    from tests.conftest import make_settings

    settings = make_settings(db_url, tmp_path, terminal__name="fresh-kiosk",
                             terminal__kind="kiosk", database__statement_timeout_ms=5000)
    fresh = build_context(settings, url=db_url)
    try:
        from core.actors import Actor, register_terminal

        tid = register_terminal(fresh.engine, "fresh-kiosk", "kiosk")
        actor = Actor(tid, "fresh-kiosk", channel="kiosk")
        hold = hold_best_available(fresh, actor, uuid.uuid4(), event_id(fresh, "SINATRA"), 1)
        with unit_of_work(fresh.engine) as conn:
            order = confirm_in(conn, actor, hold.hold_id, "card:pi_first")
            tickets = issue_tickets_in(conn, actor, order, fresh.signer())
        assert len(tickets) == 1
        p = parse(tickets[0].token)
        assert p.verify(_keys(fresh)[p.claims.key_id])
    finally:
        fresh.engine.dispose()
