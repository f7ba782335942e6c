"""The counter's last client claims, checked by the database (migration 0018).

A cashier's login could write any cash movement (a pay-out lowers the expected cash and
hides a skim), write its own shift's expected cash and variance, mark any payment
captured or failed, name any operator on its sales and refunds; the worker could insert
orders and tickets. Each attack runs here on the terminal's own provisioned login with
raw SQL (what the config file's URL gives a thief) or through the API with a tampered
actor, and must be refused; the same login's legitimate path still works: a drawer
opened with its float, cash and card sales, a supervised pay-out, a count and a close,
a refund, an offline sale replayed and its stored card captured, the worker finishing a
stuck sale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from core.actors import Actor, authenticate
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from core.provisioning import ProvisionedTerminal
from core.reservation import hold_best_available
from core.sales import CardTender, CashTender, checkout, close_shift, open_shift, refund
from core.sales.approvals import SupervisorPin, record_approval
from core.sales.shifts import move_cash, x_report
from tests.payments.conftest import FAST_GATEWAY
from tests.printing.conftest import event_id
from tests.security.conftest import (
    actor_for,
    operator_id,
    raw_engine,
    terminal_context,
    terminal_settings,
)

EVENT = "COMEDIA-HOJE"
CARLA = SupervisorPin("carla", "9999")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=18) as sb:
        yield sb


class Counter:
    """A terminal on its own login: its context (paying through the sandbox), its actor
    (the operator signed in) and the open shift, if any."""

    def __init__(self, t: ProvisionedTerminal, c: CoreContext, actor: Actor,
                 shift: uuid.UUID | None) -> None:
        self.t, self.c, self.actor, self.shift = t, c, actor, shift


@pytest.fixture(scope="module")
def make(provision, sandbox, tmp_path_factory) -> Iterator[Callable[..., Counter]]:
    made: list[CoreContext] = []

    def build(kind: str, name: str, operator: tuple[str, str] | None = None,
              float_minor: int | None = None) -> Counter:
        t = provision(kind, name)
        tmp = tmp_path_factory.mktemp(name)
        gw = {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}
        c = terminal_context(t, tmp, terminal_settings(
            t, tmp, **{f"gateway__{k}": v for k, v in gw.items()},
            sales__stuck_after_s=0))
        c.gateway = build_gateway(c.settings)
        made.append(c)
        op = authenticate(c.engine, *operator) if operator else None
        actor = actor_for(t, op.id if op else None, op.role if op else None)
        shift = None
        if float_minor is not None:
            shift = open_shift(c, actor, uuid.uuid4(), float_minor).shift_id
        return Counter(t, c, actor, shift)

    yield build
    for c in made:
        c.gateway.close()
        c.engine.dispose()


@pytest.fixture(scope="module")
def ana(make) -> Counter:
    """A counter with ana's drawer open (100,00 float)."""
    return make("cashier", "grd-counter-ana", ("ana", "1234"), 10_000)


@pytest.fixture(scope="module")
def bruno(make) -> Counter:
    """Another counter, bruno's drawer open."""
    return make("cashier", "grd-counter-bruno", ("bruno", "2345"), 5_000)


@pytest.fixture(scope="module")
def kiosk(make) -> Counter:
    return make("kiosk", "grd-kiosk")


def _event(ctx: CoreContext, code: str = EVENT) -> int:
    return int(event_id(ctx, code))


def _operator(ctx: CoreContext, login: str) -> int:
    return operator_id(ctx.engine, login)


def _cash_sale(k: Counter, seats: int = 1, actor: Actor | None = None) -> Any:
    h = hold_best_available(k.c, actor or k.actor, uuid.uuid4(), _event(k.c), seats)
    return checkout(k.c, actor or k.actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))


def _card_sale(k: Counter) -> Any:
    h = hold_best_available(k.c, k.actor, uuid.uuid4(), _event(k.c, "SINATRA"), 1)
    return checkout(k.c, k.actor, uuid.uuid4(), h.hold_id,
                    CardTender("pm_card_visa", "visa", "4242"))


def _refused(t: ProvisionedTerminal, fn: Callable[[Connection], object]) -> str:
    """``fn`` on a bare connection as ``t``'s login, which the database must refuse."""
    with pytest.raises(DBAPIError) as e, raw_engine(t).begin() as conn:
        fn(conn)
    return str(e.value.orig)


def _run(t: ProvisionedTerminal, sql: str, **params: Any) -> int:
    with raw_engine(t).begin() as conn:
        return conn.execute(text(sql), params).rowcount


def _move(conn: Connection, shift: uuid.UUID | None, kind: str, amount: int,
          sale: uuid.UUID | None = None) -> None:
    conn.execute(text("insert into cash_movements (shift_id, kind, amount_minor, sale_id)"
                      " values (:s, :k, :a, :sale)"),
                 {"s": shift, "k": kind, "a": amount, "sale": sale})


def _expected(ctx: CoreContext, shift: uuid.UUID | None) -> int:
    with ctx.engine.connect() as c:
        return int(c.execute(text("select coalesce(sum(amount_minor), 0) from cash_movements"
                                  " where shift_id = :s"), {"s": shift}).scalar_one())


def _approve(conn: Connection, k: Counter, kind: str, amount: int, **kw: Any) -> uuid.UUID:
    """carla's approval for this drawer, her PIN typed on the counter's login."""
    carla = authenticate(k.c.engine, "carla", "9999")
    assert k.shift is not None
    return record_approval(conn, k.actor, carla, kind, "other", "shift", k.shift, amount, **kw)


# --- the drawer ------------------------------------------------------------------------


def test_a_pay_out_needs_a_supervisor_in_the_same_transaction(ctx, ana):
    before = _expected(ctx, ana.shift)
    assert "approval_required" in _refused(ana.t, lambda c: _move(c, ana.shift, "paid_out",
                                                                   -5_000))

    def other_amount(c: Connection) -> None:
        _approve(c, ana, "paid_out", 1_000)
        _move(c, ana.shift, "paid_out", -5_000)
    assert "approval_required" in _refused(ana.t, other_amount)

    with ana.c.engine.begin() as c:  # approved in an earlier transaction, kept for later
        _approve(c, ana, "paid_out", 5_000)
    assert "approval_required" in _refused(ana.t, lambda c: _move(c, ana.shift, "paid_out",
                                                                   -5_000))

    def twice(c: Connection) -> None:
        _approve(c, ana, "paid_out", 5_000)
        _move(c, ana.shift, "paid_out", -5_000)
        _move(c, ana.shift, "paid_out", -5_000)
    assert "approval_required" in _refused(ana.t, twice)

    def wrong_sign(c: Connection) -> None:  # a pay-out that adds to the expected cash
        _approve(c, ana, "paid_out", 5_000)
        _move(c, ana.shift, "paid_out", 5_000)
    assert "approval_required" in _refused(ana.t, wrong_sign)

    def other_requester(c: Connection) -> None:  # asked, says the row, by bruno
        _approve(c, ana, "paid_out", 5_000, requested_by=_operator(ctx, "bruno"))
        _move(c, ana.shift, "paid_out", -5_000)
    assert "approval_required" in _refused(ana.t, other_requester)
    assert _expected(ctx, ana.shift) == before

    # The supervised pay-out, through the API on the same login.
    move = move_cash(ana.c, ana.actor, uuid.uuid4(), "paid_out", 3_000, approver=CARLA,
                     reason_code="bank_drop")
    assert move.amount_minor == -3_000
    rep = x_report(ana.c, ana.shift)
    assert rep.cash_by_kind["paid_out"] == -3_000 and rep.expected_cash_minor == before - 3_000
    with pytest.raises(BoxOfficeError) as e:  # ana cannot approve her own pay-in
        move_cash(ana.c, ana.actor, uuid.uuid4(), "paid_in", 1_000,
                  approver=SupervisorPin("ana", "1234"), reason_code="other")
    assert e.value.code == "not_authorized"


def test_cash_moves_only_by_its_own_flow(ctx, ana, bruno):
    sale = _cash_sale(ana)
    total = sale.order.total_minor
    before = _expected(ctx, ana.shift)
    # A second float, a sale with nothing sold, a negative sale, a sale counted twice.
    assert "not_authorized" in _refused(ana.t, lambda c: _move(c, ana.shift, "float", 1))
    assert "not_authorized" in _refused(ana.t, lambda c: _move(c, ana.shift, "sale", 9_999))
    assert "not_authorized" in _refused(ana.t, lambda c: _move(c, ana.shift, "sale", -total,
                                                                sale.sale_id))
    assert "not_authorized" in _refused(ana.t, lambda c: _move(c, ana.shift, "sale", total,
                                                                sale.sale_id))
    # Another counter's drawer, even with an approval of its own.
    def foreign(c: Connection) -> None:
        _approve(c, ana, "paid_in", 100)
        _move(c, bruno.shift, "paid_in", 100)
    assert "not_authorized" in _refused(ana.t, foreign)
    assert _expected(ctx, ana.shift) == before
    # The sale itself went into the drawer once, for its total.
    with ctx.engine.connect() as c:
        assert c.execute(text("select amount_minor from cash_movements where sale_id = :s"),
                         {"s": sale.sale_id}).scalars().all() == [total]


# --- the shift -------------------------------------------------------------------------


def test_a_cashier_cannot_write_its_own_count(ctx, make):
    k = make("cashier", "grd-counter-close", ("bruno", "2345"), 10_000)
    # The tidy close: expected = counted, no variance, no approval.
    assert "not_authorized" in _refused(k.t, lambda c: c.execute(text(
        "update shifts set status = 'closed', expected_cash_minor = 3000,"
        " counted_cash_minor = 3000, variance_minor = 0, closed_at = now() where id = :s"),
        {"s": k.shift}))
    # The real expected cash, a variance over the limit, and no approval.
    assert "approval_required" in _refused(k.t, lambda c: c.execute(text(
        "update shifts set status = 'closed', expected_cash_minor = 10000,"
        " counted_cash_minor = 3000, variance_minor = -7000, closed_at = now() where id = :s"),
        {"s": k.shift}))
    assert "status_change_refused" in _refused(k.t, lambda c: c.execute(text(
        "update shifts set expected_cash_minor = 0 where id = :s"), {"s": k.shift}))
    # A blind count pending approval cannot be counted again.
    assert close_shift(k.c, k.actor, uuid.uuid4(), 3_000).status == "pending_approval"
    assert "not_authorized" in _refused(k.t, lambda c: c.execute(text(
        "update shifts set counted_cash_minor = 10000, variance_minor = 0 where id = :s"),
        {"s": k.shift}))
    assert "approval_required" in _refused(k.t, lambda c: c.execute(text(
        "update shifts set status = 'closed', closed_at = now() where id = :s"),
        {"s": k.shift}))


def test_a_close_over_the_databases_limit_needs_another_operator(ctx, make):
    k = make("cashier", "grd-counter-limit", ("ana", "1234"), 10_000)
    with db_variance_limit(ctx, 100):
        # 5,00 short: under the terminal's limit (20,00), over the database's.
        assert close_shift(k.c, k.actor, uuid.uuid4(), 9_500).status == "pending_approval"
    k2 = make("cashier", "grd-counter-exact", ("ana", "1234"), 10_000)
    done = close_shift(k2.c, k2.actor, uuid.uuid4(), 10_000)
    assert done.status == "closed" and done.variance_minor == 0
    # Closed stays closed.
    assert "status_change_refused" in _refused(k2.t, lambda c: c.execute(text(
        "update shifts set status = 'open', closed_at = null, expected_cash_minor = null,"
        " counted_cash_minor = null, variance_minor = null where id = :s"), {"s": k2.shift}))
    k3 = make("cashier", "grd-counter-approved", ("ana", "1234"), 10_000)
    done = close_shift(k3.c, k3.actor, uuid.uuid4(), 2_000, approver=CARLA,
                       reason_code="missing_cash")
    assert done.status == "closed" and done.variance_minor == -8_000


def test_only_a_counter_opens_its_own_drawer(ctx, make, terminals):
    monitor = terminals["monitor"]
    ana_id = _operator(ctx, "ana")
    msg = _refused(monitor, lambda c: c.execute(text(
        "insert into shifts (id, terminal_id, operator_id, status, currency,"
        " opening_float_minor) values (gen_random_uuid(), :t, :o, 'open', 'BRL', 0)"),
        {"t": monitor.terminal_id, "o": ana_id}))
    assert "permission denied" in msg
    k = make("cashier", "grd-counter-open")
    # Already closed and counted when it opens: no count to make later.
    assert "not_authorized" in _refused(k.t, lambda c: c.execute(text(
        "insert into shifts (id, terminal_id, operator_id, status, currency,"
        " opening_float_minor, expected_cash_minor, counted_cash_minor, variance_minor,"
        " closed_at) values (gen_random_uuid(), :t, :o, 'closed', 'BRL', 0, 0, 0, 0, now())"),
        {"t": k.t.terminal_id, "o": ana_id}))


@contextmanager
def db_variance_limit(ctx: CoreContext, value: int) -> Iterator[None]:
    """The database's variance limit (the owner's to set) for one test."""
    q = text("update bo_settings set value = :v where name = 'variance_approval_over_minor'")
    with ctx.engine.begin() as conn:
        old = conn.execute(text("select value from bo_settings"
                                " where name = 'variance_approval_over_minor'")).scalar_one()
        conn.execute(q, {"v": str(value)})
    try:
        yield
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(q, {"v": old})


# --- who sold, who asked ---------------------------------------------------------------


def test_a_sale_names_the_operator_of_its_shift(ctx, ana):
    bruno_id = _operator(ctx, "bruno")
    with pytest.raises(BoxOfficeError) as e:
        _cash_sale(ana, actor=replace(ana.actor, operator_id=bruno_id))
    assert e.value.code == "database_refused"
    sale = _cash_sale(ana)
    with ctx.engine.connect() as c:
        assert c.execute(text("select operator_id from orders where id = :o"),
                         {"o": sale.order.order_id}).scalar_one() == ana.actor.operator_id


def test_an_offline_sale_names_the_cashier_of_its_shift(ctx, ana):
    from core.leases import LeasedSale, confirm_leased_sale, take_lease
    from tests.sync.helpers import seats_of

    ev = _event(ctx, "SINATRA")
    seats = seats_of(ctx.engine, ev, "BAL")[:2]
    info = take_lease(ana.c, ana.actor, uuid.uuid4(), ev, seat_ids=seats,
                      approver=authenticate(ana.c.engine, "carla", "9999"))
    price = {s.seat_id: s.unit_price_minor for s in info.seats}
    sale = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=price[seats[0]], currency=info.currency,
                      payment_method="cash", seat_ids=(seats[0],),
                      operator_id=_operator(ctx, "bruno"), shift_id=ana.shift)
    with pytest.raises(BoxOfficeError):
        confirm_leased_sale(ana.c, ana.actor, uuid.uuid4(), sale)
    ok = replace(sale, order_id=uuid.uuid4(), operator_id=ana.actor.operator_id)
    assert confirm_leased_sale(ana.c, ana.actor, uuid.uuid4(), ok).order_id == ok.order_id
    # Its stored-card sibling, replayed and then captured at the counter.
    card = LeasedSale(order_id=uuid.uuid4(), lease_id=info.lease_id, event_id=ev,
                      total_minor=price[seats[1]], currency=info.currency,
                      payment_method="card_saf", card_ref="pm_card_visa",
                      seat_ids=(seats[1],), operator_id=ana.actor.operator_id,
                      shift_id=ana.shift)
    confirm_leased_sale(ana.c, ana.actor, uuid.uuid4(), card)
    key = f"offline:{card.order_id}"
    # The payment marked captured with no outcome recorded on the stored card.
    assert "status_change_refused" in _refused(ana.t, lambda c: c.execute(text(
        "update payments set status = 'captured', gateway_ref = 'pi_made_up'"
        " where idempotency_key = :k"), {"k": key}))
    from core.leases import set_card_outcome

    set_card_outcome(ana.c, ana.actor, uuid.uuid4(), card.order_id, captured=True,
                     gateway_ref="pi_forwarded")
    # Recorded once: not declined afterwards, nor its reference or flag rewritten.
    for sql in ("update lease_sales set card_status = 'declined',"
                " flag = 'card_declined_at_capture' where order_id = :o",
                "update lease_sales set card_ref = 'pi_mine' where order_id = :o",
                "update payments set status = 'declined' where idempotency_key = 'offline:'"
                " || cast(:o as text)"):
        msg = _refused(ana.t, lambda c, sql=sql: c.execute(text(sql), {"o": card.order_id}))
        assert "not_authorized" in msg or "status_change_refused" in msg
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from payments where idempotency_key = :k"),
                         {"k": key}).scalar_one() == "captured"


def test_a_refund_is_asked_by_the_operator_of_the_open_shift(ctx, ana):
    sale = _cash_sale(ana)
    [line] = sale.order.lines
    bruno_id = _operator(ctx, "bruno")

    def named_bruno(c: Connection) -> None:
        rid = uuid.uuid4()
        c.execute(text("update order_lines set status = 'refunded' where id = :l"),
                  {"l": line.line_id})
        c.execute(text(
            "insert into refunds (id, key, order_id, line_ids, method, status, amount_minor,"
            " currency, reason_code, shift_id, terminal_id, operator_id) values (:id,"
            " gen_random_uuid(), :o, :lines, 'cash', 'succeeded', :amt, 'BRL', 'other', :s,"
            " :t, :op)"), {"id": rid, "o": sale.order.order_id, "lines": [line.line_id],
                           "amt": sale.order.total_minor, "s": ana.shift,
                           "t": ana.t.terminal_id, "op": bruno_id})
    assert "not_authorized" in _refused(ana.t, named_bruno)
    with pytest.raises(BoxOfficeError):
        refund(ana.c, replace(ana.actor, operator_id=bruno_id), uuid.uuid4(),
               sale.order.order_id, reason_code="customer_request")
    r = refund(ana.c, ana.actor, uuid.uuid4(), sale.order.order_id,
               reason_code="customer_request")
    assert r.status == "succeeded"
    with ctx.engine.connect() as c:
        assert c.execute(text("select operator_id from refunds where id = :r"),
                         {"r": r.refund_id}).scalar_one() == ana.actor.operator_id


# --- payment outcomes ------------------------------------------------------------------


def test_a_payments_outcome_follows_its_sale_on_its_own_terminal(ctx, ana, kiosk):
    theirs = _card_sale(kiosk)
    mine = _card_sale(ana)  # a card sale with its capture, at the counter
    with ctx.engine.connect() as c:
        assert c.execute(text("select s.state, p.status from sales s join payments p"
                              " on p.sale_id = s.id where s.id = :s"),
                         {"s": mine.sale_id}).one() == ("completed", "captured")
    # Another terminal's sale and payment.
    assert _run(ana.t, "update sales set state = 'reversed' where id = :s",
                s=theirs.sale_id) == 0
    assert "not_authorized" in _refused(ana.t, lambda c: c.execute(text(
        "update payments set status = 'reversed' where sale_id = :s"), {"s": theirs.sale_id}))
    # Its own: backwards, sideways, another reference, against its sale's state.
    for sql in ("update payments set status = 'authorized' where sale_id = :s",
                "update payments set status = 'declined' where sale_id = :s",
                "update payments set gateway_ref = 'pi_other' where sale_id = :s",
                "update payments set order_id = null where sale_id = :s"):
        msg = _refused(ana.t, lambda c, sql=sql: c.execute(text(sql), {"s": mine.sale_id}))
        assert "status_change_refused" in msg or "not_authorized" in msg
    # The kiosk on its own card payment: a capture marked failed.
    assert "status_change_refused" in _refused(kiosk.t, lambda c: c.execute(text(
        "update payments set status = 'declined' where sale_id = :s"), {"s": theirs.sale_id}))
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from payments where sale_id = any(:s)"
                              " order by id"), {"s": [theirs.sale_id, mine.sale_id]}
                         ).scalars().all() == ["captured", "captured"]


# --- the worker ------------------------------------------------------------------------


def test_the_worker_writes_only_through_its_flows(ctx, make, ana):
    w = make("worker", "grd-worker")
    _cash_sale(ana)  # an order, a line and a hold for the inserts to copy
    for sql in (
        "insert into orders (id, event_id, hold_id, terminal_id, status, total_minor,"
        " currency, payment_ref) select gen_random_uuid(), event_id, id, terminal_id, 'paid',"
        " 0, currency, 'cash:x' from holds limit 1",
        "insert into order_lines (order_id, event_id, section_id, qty, unit_price_minor,"
        " status) select id, event_id, 1, 1, 0, 'sold' from orders limit 1",
        "insert into tickets (serial, order_id, line_id, unit, event_id, section_id,"
        " unit_price_minor, currency, key_id, token, terminal_id, status, print_count,"
        " reprint_count, issued_at) select 999000001, order_id, id, 1, event_id, section_id,"
        " 0, 'BRL', 'k', 't', 1, 'valid', 0, 0, now() from order_lines limit 1",
        "insert into refunds (id, key, order_id, line_ids, method, status, amount_minor,"
        " currency, reason_code, terminal_id) select gen_random_uuid(), gen_random_uuid(),"
        " id, '{}', 'card', 'pending', 1, 'BRL', 'other', terminal_id from orders limit 1",
        "update leases set ga_quota = 1000",
        "update lease_sales set amount_minor = 0",
        "update lease_seats set unit_price_minor = 0",
    ):
        assert "permission denied" in _refused(w.t, lambda c, sql=sql: c.execute(text(sql)))
    # Its own work still runs on its login: a card sale left capturing is finished.
    from core.sales import recover_stuck_sales

    stuck = _card_sale(ana)
    with ctx.engine.begin() as c:  # the counter died between its confirm and capture
        c.execute(text("update sales set state = 'capturing' where id = :s"),
                  {"s": stuck.sale_id})
        c.execute(text("update payments set status = 'authorized' where sale_id = :s"),
                  {"s": stuck.sale_id})
    rep = recover_stuck_sales(w.c, older_than_s=0)
    assert rep.completed >= 1 and rep.still_stuck == 0
    with ctx.engine.connect() as c:
        assert c.execute(text("select s.state, p.status from sales s join payments p"
                              " on p.sale_id = s.id where s.id = :s"),
                         {"s": stuck.sale_id}).one() == ("completed", "captured")


def test_a_counter_frees_a_sold_seat_only_with_its_refund(ctx, ana, kiosk):
    theirs = _card_sale(kiosk)
    [seat] = [ln.seat_id for ln in theirs.order.lines]
    # Back on sale without a refund: the seat would be sold twice.
    assert "status_change_refused" in _refused(ana.t, lambda c: c.execute(text(
        "update event_seats set status = 'available', order_id = null, version = version + 1"
        " where seat_id = :s and order_id = :o"), {"s": seat, "o": theirs.order.order_id}))
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from event_seats where seat_id = :s"
                              " and order_id = :o"),
                         {"s": seat, "o": theirs.order.order_id}).scalar_one() == "sold"
    # With the supervisor's approval (another shift's order), the refund frees it.
    refund(ana.c, ana.actor, uuid.uuid4(), theirs.order.order_id,
           reason_code="customer_request", approver=CARLA)
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from event_seats where seat_id = :s"
                              " and event_id = :e"),
                         {"s": seat, "e": _event(ctx, "SINATRA")}).scalar_one() == "available"


def test_a_confirmed_sale_keeps_its_intent(ctx, ana):
    mine = _card_sale(ana)
    # The refund of this order would go to whatever intent the row names.
    assert "not_authorized" in _refused(ana.t, lambda c: c.execute(text(
        "update sales set intent_id = 'pi_someone_elses' where id = :s"), {"s": mine.sale_id}))
    assert "not_authorized" in _refused(ana.t, lambda c: c.execute(text(
        "update sales set order_id = null where id = :s"), {"s": mine.sale_id}))


def test_an_order_is_canceled_or_refunded_only_with_its_money(ctx, ana, kiosk):
    theirs = _card_sale(kiosk)
    mine = _cash_sale(ana)
    [seat] = [ln.seat_id for ln in theirs.order.lines]

    def cancel_and_free(c: Connection) -> None:  # then the seat is free to sell again
        c.execute(text("update orders set status = 'canceled' where id = :o"),
                  {"o": theirs.order.order_id})
        c.execute(text("update event_seats set status = 'available', order_id = null"
                       " where seat_id = :s and order_id = :o"),
                  {"s": seat, "o": theirs.order.order_id})
    assert "status_change_refused" in _refused(ana.t, cancel_and_free)
    for order in (theirs.order.order_id, mine.order.order_id):
        assert "status_change_refused" in _refused(ana.t, lambda c, o=order: c.execute(text(
            "update orders set status = 'refunded' where id = :o"), {"o": o}))
    # The kiosk's own order, canceled with no reversal of its sale.
    assert "status_change_refused" in _refused(kiosk.t, lambda c: c.execute(text(
        "update orders set status = 'canceled' where id = :o"), {"o": theirs.order.order_id}))
    with ctx.engine.connect() as c:
        assert c.execute(text("select status from orders where id = any(:o) order by number"),
                         {"o": [theirs.order.order_id, mine.order.order_id]}
                         ).scalars().all() == ["paid", "paid"]
