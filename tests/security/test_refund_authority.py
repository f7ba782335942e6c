"""A counter's login may refund only what its screens may: the database checks the rule
of ``core.sales.refunds._approval_reason`` when the refund row is written (a used
ticket, an order of another shift or of none, an amount over the database's own limit
need a supervisor's approval for this order, by another operator, recorded in the same
transaction and used by no other refund), a line goes back only with its refund, and
cash leaves the drawer only for a recorded cash refund.

Every attack runs on a provisioned cashier login with raw SQL (what the config file's
URL gives a thief) and through the API with a tampered client; the legitimate refunds of
the same login still work."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.errors import BoxOfficeError
from core.reservation import confirm_in, hold_best_available
from core.sales import CashTender, checkout, open_shift, refund
from core.sales import refunds as refunds_mod
from core.sales.approvals import SupervisorPin, record_approval
from core.uow import unit_of_work
from tests.security.conftest import actor_for, raw_engine, terminal_context, terminal_settings

EVENT = "COMEDIA-HOJE"
DEFAULT_LIMIT = 50_000


@pytest.fixture(scope="module")
def counter(provision, tmp_path_factory):
    """A counter login with ana's shift open on it."""
    t = provision("cashier", "ref-counter")
    c = terminal_context(t, tmp_path_factory.mktemp("ref-counter"))
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    shift = open_shift(c, actor, uuid.uuid4(), 50_000)
    yield t, c, actor, shift.shift_id
    c.engine.dispose()


@contextmanager
def db_limit(ctx, value: int) -> Iterator[None]:
    """The database's refund limit (the owner's to set) for one test."""
    with ctx.engine.begin() as conn:
        conn.execute(text("update bo_settings set value = :v"
                          " where name = 'refund_approval_over_minor'"), {"v": str(value)})
    try:
        yield
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(text("update bo_settings set value = :v"
                              " where name = 'refund_approval_over_minor'"),
                         {"v": str(DEFAULT_LIMIT)})


def _sell(counter, seats: int = 1) -> Any:
    _, c, actor, _ = counter
    with c.engine.connect() as conn:
        ev = conn.execute(text("select id from events where code = :c"),
                          {"c": EVENT}).scalar_one()
    h = hold_best_available(c, actor, uuid.uuid4(), ev, seats)
    return checkout(c, actor, uuid.uuid4(), h.hold_id, CashTender(h.total_minor)).order


def _lines(c, order_id) -> list[tuple[int, int]]:
    with c.engine.connect() as conn:
        return [(int(r.id), int(r.qty * r.unit_price_minor)) for r in conn.execute(
            text("select id, qty, unit_price_minor from order_lines where order_id = :o"
                 " order by id"), {"o": order_id})]


_REFUND_ROW = text(
    "insert into refunds (id, key, order_id, line_ids, method, status, amount_minor, currency,"
    " reason_code, shift_id, approval_id, terminal_id, operator_id) values (:id,"
    " gen_random_uuid(), :o, :lines, :method, :status, :amt, 'BRL', 'other', :shift, :appr,"
    " :t, :op)")


def _raw_refund(conn, counter, order_id, lines: list[tuple[int, int]], *,
                approval: uuid.UUID | None = None, operator: int | None = None,
                method: str = "cash") -> uuid.UUID:
    """What refund_in writes, by hand: lines back, the refund row, cash out."""
    t, _, actor, shift = counter
    rid = uuid.uuid4()
    ids = [i for i, _ in lines]
    amount = sum(a for _, a in lines)
    conn.execute(text("update order_lines set status = 'refunded' where id = any(:l)"),
                 {"l": ids})
    conn.execute(_REFUND_ROW, {"id": rid, "o": order_id, "lines": ids, "method": method,
                               "status": "succeeded" if method == "cash" else "pending",
                               "amt": amount, "shift": shift if method == "cash" else None,
                               "appr": approval, "t": t.terminal_id,
                               "op": actor.operator_id if operator is None else operator})
    if method == "cash":
        conn.execute(text("insert into cash_movements (shift_id, kind, amount_minor, refund_id)"
                          " values (:s, 'refund', :a, :r)"), {"s": shift, "a": -amount, "r": rid})
    return rid


def _refused(counter, fn) -> str:
    t = counter[0]
    with pytest.raises(DBAPIError) as e, raw_engine(t).begin() as conn:
        fn(conn)
    return str(e.value.orig)


def _sold(c, order_id) -> list[str]:
    with c.engine.connect() as conn:
        return conn.execute(text("select status from order_lines where order_id = :o"
                                 " order by id"), {"o": order_id}).scalars().all()


def test_raw_refund_over_the_database_limit_needs_an_approval(ctx, counter):
    _, c, _, _ = counter
    order = _sell(counter)
    lines = _lines(c, order.order_id)
    with db_limit(ctx, 10_000):  # one seat (120,00) is over it
        msg = _refused(counter, lambda conn: _raw_refund(conn, counter, order.order_id, lines))
        assert "approval_required" in msg and "amount over limit" in msg
    assert _sold(c, order.order_id) == ["sold"]
    # Under the limit, same shift, nothing used: the same writes are a cashier's own refund.
    with raw_engine(counter[0]).begin() as conn:
        _raw_refund(conn, counter, order.order_id, lines)
    assert _sold(c, order.order_id) == ["refunded"]


def test_an_order_of_no_shift_needs_an_approval_whatever_its_amount(ctx, counter):
    """An order sold outside this drawer's shift (here the owner's, with none)."""
    from core.actors import Actor, register_terminal

    with ctx.engine.connect() as conn:
        ev = conn.execute(text("select id from events where code = :c"),
                          {"c": EVENT}).scalar_one()
    tid = register_terminal(ctx.engine, "ref-owner-counter", "cashier")
    owner = Actor(tid, "ref-owner-counter")
    h = hold_best_available(ctx, owner, uuid.uuid4(), ev, 1)
    with unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, owner, h.hold_id, f"cash:{uuid.uuid4()}")
    msg = _refused(counter, lambda conn: _raw_refund(conn, counter, order.order_id,
                                                     _lines(ctx, order.order_id)))
    assert "approval_required" in msg and "another shift" in msg


def test_a_used_ticket_needs_an_approval(ctx, counter):
    _, c, _, _ = counter
    order = _sell(counter)
    with ctx.engine.begin() as conn:  # checked in at a gate
        conn.execute(text("update tickets set status = 'used', used_at = now(),"
                          " used_gate = 'porta-1' where order_id = :o"), {"o": order.order_id})
    msg = _refused(counter, lambda conn: _raw_refund(conn, counter, order.order_id,
                                                     _lines(c, order.order_id)))
    assert "approval_required" in msg and "ticket used" in msg


def _approve(conn, c, counter, order_id, amount: int, *, requested_by: int | None = None):
    """carla's approval for ``order_id``, with her PIN typed on this login."""
    _, _, actor, _ = counter
    carla = authenticate(c.engine, "carla", "9999")
    kw = {} if requested_by is None else {"requested_by": requested_by}
    return record_approval(conn, actor, carla, "refund", "other", "order", order_id, amount,
                           **kw)


def test_an_approval_counts_only_for_its_order_fresh_and_once(ctx, counter):
    _, c, actor, _ = counter
    a, b = _sell(counter, 2), _sell(counter)
    la, lb = _lines(c, a.order_id), _lines(c, b.order_id)
    with db_limit(ctx, 1):
        # Approved for order B, used for order A.
        def other_order(conn):
            appr = _approve(conn, c, counter, b.order_id, 99_999)
            _raw_refund(conn, counter, a.order_id, la, approval=appr)
        assert "approval_required" in _refused(counter, other_order)

        # Approved in an earlier transaction (a stale approval kept for later).
        with unit_of_work(c.engine) as conn:
            stale = _approve(conn, c, counter, a.order_id, 99_999)
        assert "approval_required" in _refused(
            counter, lambda conn: _raw_refund(conn, counter, a.order_id, la, approval=stale))

        # Asked by ana, the refund row claims bruno asked.
        def other_asker(conn):
            appr = _approve(conn, c, counter, a.order_id, 99_999)
            bruno = authenticate(c.engine, "bruno", "2345").id
            _raw_refund(conn, counter, a.order_id, la, approval=appr, operator=bruno)
        assert "approval_required" in _refused(counter, other_asker)

        # The supervisor is the refunding operator too (the row names her as requester).
        def own_refund(conn):
            carla = authenticate(c.engine, "carla", "9999").id
            bruno = authenticate(c.engine, "bruno", "2345").id
            appr = _approve(conn, c, counter, a.order_id, 99_999, requested_by=bruno)
            _raw_refund(conn, counter, a.order_id, la, approval=appr, operator=carla)
        assert "approval_required" in _refused(counter, own_refund)

        # One approval, two refunds (line by line).
        def twice(conn):
            appr = _approve(conn, c, counter, a.order_id, 99_999)
            _raw_refund(conn, counter, a.order_id, la[:1], approval=appr)
            _raw_refund(conn, counter, a.order_id, la[1:], approval=appr)
        assert "approval_required" in _refused(counter, twice)
        assert _sold(c, a.order_id) == ["sold", "sold"]

        # The right approval: this order, this transaction, another operator, once.
        with raw_engine(counter[0]).begin() as conn:
            appr = _approve(conn, c, counter, b.order_id, 99_999)
            _raw_refund(conn, counter, b.order_id, lb, approval=appr)
    assert _sold(c, b.order_id) == ["refunded"]
    del actor


def test_a_refund_row_must_match_its_lines(ctx, counter):
    _, c, _, _ = counter
    order = _sell(counter, 2)
    lines = _lines(c, order.order_id)
    # Cash out for more than the lines are worth.
    msg = _refused(counter, lambda conn: _raw_refund(
        conn, counter, order.order_id, [(lines[0][0], lines[0][1] * 10)]))
    assert "not_authorized" in msg
    # A card refund of a cash order, a cash refund straight into another drawer's book.
    assert "not_authorized" in _refused(counter, lambda conn: _raw_refund(
        conn, counter, order.order_id, lines, method="card"))
    # The same line twice.
    with raw_engine(counter[0]).begin() as conn:
        _raw_refund(conn, counter, order.order_id, lines[:1])
    assert "not_authorized" in _refused(counter, lambda conn: conn.execute(_REFUND_ROW, {
        "id": uuid.uuid4(), "o": order.order_id, "lines": [lines[0][0]], "method": "cash",
        "status": "succeeded", "amt": lines[0][1], "shift": counter[3], "appr": None,
        "t": counter[0].terminal_id, "op": counter[2].operator_id}))


def test_cash_leaves_the_drawer_only_for_a_recorded_cash_refund(counter):
    _, _, _, shift = counter
    assert "not_authorized" in _refused(counter, lambda conn: conn.execute(text(
        "insert into cash_movements (shift_id, kind, amount_minor) values (:s, 'refund',"
        " -5000)"), {"s": shift}))
    order = _sell(counter)
    with raw_engine(counter[0]).begin() as conn:
        rid = _raw_refund(conn, counter, order.order_id, _lines(counter[1], order.order_id))
    # The refund is paid out already: not a second time.
    assert "not_authorized" in _refused(counter, lambda conn: conn.execute(text(
        "insert into cash_movements (shift_id, kind, amount_minor, refund_id) values (:s,"
        " 'refund', :a, :r)"), {"s": shift, "a": -_lines(counter[1], order.order_id)[0][1],
                               "r": rid}))


def test_a_line_goes_back_only_with_its_refund(counter):
    order = _sell(counter)
    msg = _refused(counter, lambda conn: conn.execute(text(
        "update order_lines set status = 'refunded' where order_id = :o"),
        {"o": order.order_id}))
    assert "approval_required" in msg
    assert _sold(counter[1], order.order_id) == ["sold"]


@pytest.mark.parametrize("kind", ["cashier", "monitor", "kiosk", "worker"])
def test_the_refund_limit_is_not_a_terminals_to_change(provision, kind):
    t = provision(kind, f"ref-limit-{kind}")
    for sql in ("update bo_settings set value = '999999999'",
                "insert into bo_settings (name, value) values ('x_minor', '1')",
                "delete from bo_settings"):
        with pytest.raises(DBAPIError) as e, raw_engine(t).begin() as conn:
            conn.execute(text(sql))
        assert "permission denied" in str(e.value.orig)


# --- through the API -------------------------------------------------------------------


def test_a_faked_client_setting_does_not_lift_the_limit(ctx, counter, tmp_path, monkeypatch):
    """The counter's config says refunds up to 10 million need nobody; the database's
    limit still asks for a supervisor, and a client that skips its own check is refused
    by the database."""
    t, _, actor, _ = counter
    faked = terminal_context(t, tmp_path, terminal_settings(
        t, tmp_path, sales__refund_approval_over_minor=1_000_000_000))
    try:
        order = _sell(counter)
        with db_limit(ctx, 10_000):
            with pytest.raises(BoxOfficeError) as e:
                refund(faked, actor, uuid.uuid4(), order.order_id, reason_code="other")
            assert e.value.code == "approval_required"
            monkeypatch.setattr(refunds_mod, "_approval_reason", lambda *a, **k: None)
            with pytest.raises(BoxOfficeError) as e:
                refund(faked, actor, uuid.uuid4(), order.order_id, reason_code="other")
            assert e.value.code == "approval_required"
            assert e.value.details.get("why") == "amount over limit"
    finally:
        faked.engine.dispose()
    assert _sold(ctx, order.order_id) == ["sold"]


def test_nobody_approves_their_own_refund(counter):
    t, c, _, _ = counter
    carla = authenticate(c.engine, "carla", "9999")
    as_carla = actor_for(t, carla.id, carla.role)
    order = _sell(counter, 5)  # 600,00: over the default limit
    with pytest.raises(BoxOfficeError) as e:
        refund(c, as_carla, uuid.uuid4(), order.order_id, reason_code="other",
               approver=SupervisorPin("carla", "9999"))
    assert e.value.code == "self_approval"
    assert _sold(c, order.order_id) == ["sold"] * 5


def test_legitimate_refunds_still_work(ctx, counter):
    t, c, actor, shift = counter
    small = _sell(counter)
    r = refund(c, actor, uuid.uuid4(), small.order_id, reason_code="customer_request")
    assert r.status == "succeeded" and r.approval_id is None and r.tickets_voided == 1
    big = _sell(counter, 5)
    lines = [ln for ln, _ in _lines(c, big.order_id)]
    first = refund(c, actor, uuid.uuid4(), big.order_id, reason_code="customer_request",
                   line_ids=lines[:1], approver=SupervisorPin("carla", "9999"))
    # 120,00 of the same shift is under the limit: approved only because it was offered.
    assert first.status == "succeeded"
    key = uuid.uuid4()
    rest = refund(c, actor, key, big.order_id, reason_code="customer_request",
                  line_ids=lines[1:], approver=SupervisorPin("carla", "9999"))
    assert rest.approval_id is not None and rest.amount_minor > DEFAULT_LIMIT - 20_000
    # The same key again: the first answer, nothing refunded twice.
    again = refund(c, actor, key, big.order_id, reason_code="customer_request",
                   line_ids=lines[1:], approver=SupervisorPin("carla", "9999"))
    assert (again.refund_id, again.amount_minor) == (rest.refund_id, rest.amount_minor)
    with c.engine.connect() as conn:
        out = conn.execute(text("select coalesce(sum(amount_minor), 0) from cash_movements"
                                " where shift_id = :s and kind = 'refund'"),
                           {"s": shift}).scalar_one()
    assert out <= -(r.amount_minor + first.amount_minor + rest.amount_minor)
    del t
