"""Offline leases on a counter's own login (migration 0014): the lease, its seats, the sales
replayed from it and their tickets are written only by the database functions, which
check whose lease it is, a supervisor's approval, the quoted prices and the serials; the
legitimate sell-offline-then-replay path still works, exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.leases import LeasedSale, confirm_leased_sale, return_lease, take_lease
from core.provisioning import ProvisionedTerminal
from core.sales import open_shift
from sync.journal import Journal
from sync.terminal import OfflineTerminal
from sync.tickets import local_signer, sign_offline_tickets
from tests.core.helpers import event_id, seats_of, section_id
from tests.security.conftest import (
    actor_for,
    operator_id,
    psycopg_url,
    raw_engine,
    terminal_context,
)

ROOT = Path(__file__).resolve().parents[2]
Counter = tuple[ProvisionedTerminal, CoreContext]


@pytest.fixture(scope="module")
def counters(provision: Any, ctx: CoreContext, tmp_path_factory: Any
             ) -> Iterator[dict[str, Counter]]:
    made: dict[str, Counter] = {}
    for name in ("a", "b"):
        t = provision("cashier", f"sec-lease-{name}-{uuid.uuid4().hex[:4]}")
        c = terminal_context(t, tmp_path_factory.mktemp(f"lease-{name}"))
        c.signer()  # enrolls the counter's ticket key, as a counter does when online
        made[name] = (t, c)
    yield made
    for _, c in made.values():
        c.engine.dispose()


def _carla(c: CoreContext) -> Any:
    """A supervisor signed in on this counter's login: her one-use PIN proof."""
    return authenticate(c.engine, "carla", "9999")


def _refused(who: ProvisionedTerminal, statement: str, **params: object) -> str:
    engine = raw_engine(who)
    try:
        with pytest.raises(DBAPIError) as e, engine.begin() as conn:
            conn.execute(text(statement), params)
        return str(e.value.orig)
    finally:
        engine.dispose()


def _count(ctx: CoreContext, sql: str, **params: object) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _sale(c: CoreContext, info: Any, seats: list[Any], *, serials: list[int] | None = None,
          **changes: Any) -> LeasedSale:
    order_id = uuid.uuid4()
    tickets = sign_offline_tickets(local_signer(c.settings),
                                   serials or list(info.serials[:len(seats)]), order_id,
                                   info.event_id, seats, None, 0)
    fields: dict[str, Any] = {
        "order_id": order_id, "lease_id": info.lease_id, "event_id": info.event_id,
        "total_minor": sum(int(s.unit_price_minor) for s in seats),
        "currency": info.currency, "payment_method": "cash",
        "seat_ids": tuple(s.seat_id for s in seats), "tickets": tuple(tickets)}
    fields.update(changes)
    return LeasedSale(**fields)


def test_a_counter_login_writes_no_lease_row_order_or_ticket_itself(
        counters: dict[str, Counter], ctx: CoreContext) -> None:
    t, c = counters["a"]
    ev = event_id(ctx.engine, "SINATRA")
    seat, other = seats_of(ctx.engine, ev, "BAL")[:2]
    info = take_lease(c, actor_for(t), uuid.uuid4(), ev, seat_ids=[seat], approver=_carla(c))
    sec = info.seats[0].section_id
    tier = info.seats[0].tier_id
    denied = {
        "a lease": "insert into leases (id, terminal_id, event_id, kind, ga_quota, ga_sold,"
                   " currency, status, returned_units, serials, order_numbers) values"
                   " (gen_random_uuid(), :t, :ev, 'seats', 0, 0, 'BRL', 'active', 0, '{}',"
                   " '{}')",
        "a seat at price 0": "insert into lease_seats (lease_id, event_id, seat_id,"
                             " section_id, unit_price_minor, tier_id) values (:lease, :ev,"
                             " :other, :sec, 0, :tier)",
        "the lease's state": "update leases set order_numbers = '{1}' where id = :lease",
        "a lease sale": "insert into lease_sales (order_id, lease_id, terminal_id, command_key,"
                        " payment_method, amount_minor, currency) values (gen_random_uuid(),"
                        " :lease, :t, gen_random_uuid(), 'cash', 0, 'BRL')",
        "an order": "insert into orders (id, event_id, hold_id, terminal_id, status,"
                    " total_minor, currency, payment_ref) values (gen_random_uuid(), :ev,"
                    " gen_random_uuid(), :t, 'paid', 0, 'BRL', 'cash:x')",
        "an order line": "insert into order_lines (order_id, event_id, section_id, seat_id,"
                         " qty, unit_price_minor, tier_id, status) values (gen_random_uuid(),"
                         " :ev, :sec, :other, 1, 0, :tier, 'sold')",
        "a ticket": "insert into tickets (serial, order_id, line_id, unit, event_id,"
                    " section_id, unit_price_minor, currency, key_id, token, terminal_id,"
                    " status, print_count, reprint_count, issued_at) values (1, gen_random_uuid(),"
                    " 1, 1, :ev, :sec, 0, 'BRL', 'k', 't', :t, 'valid', 0, 0, now())",
        "a seat's lease": "update event_seats set lease_id = :lease where event_id = :ev"
                          " and seat_id = :other",
        "a GA quota": "update ga_inventory set leased = leased + 1",
        "an order number": "select nextval(pg_get_serial_sequence('orders', 'number'))",
    }
    params = {"t": t.terminal_id, "ev": ev, "lease": info.lease_id, "other": other,
              "sec": sec, "tier": tier}
    for what, sql in denied.items():
        assert "permission denied" in _refused(t, sql, **params), what
    # Nor by the columns it may still write: a free seat does not become leased, nor a
    # leased one sold, outside the functions.
    assert "not_authorized" in _refused(
        t, "update event_seats set status = 'leased' where event_id = :ev and seat_id = :s",
        ev=ev, s=other)
    assert "not_authorized" in _refused(
        t, "update event_seats set status = 'available' where event_id = :ev and seat_id = :s",
        ev=ev, s=seat)
    assert "not_authorized" in _refused(
        t, "update event_seats set status = 'sold' where event_id = :ev and seat_id = :s",
        ev=ev, s=seat)
    assert _count(ctx, "select count(*) from event_seats where event_id = :e and seat_id = :s"
                  " and status = 'leased' and lease_id = :l", e=ev, s=seat,
                  l=info.lease_id) == 1


def test_a_counter_login_cannot_grant_itself_a_lease(counters: dict[str, Counter],
                                                     ctx: CoreContext) -> None:
    (t, c), (tb, cb) = counters["a"], counters["b"]
    ev = event_id(ctx.engine, "SINATRA")
    seats = seats_of(ctx.engine, ev, "BAL")[10:12]
    before = _count(ctx, "select count(*) from leases")
    with pytest.raises(BoxOfficeError) as e:
        take_lease(c, actor_for(t), uuid.uuid4(), ev, seat_ids=seats)
    assert e.value.code == "lease_needs_supervisor"
    call = ("select bo_take_lease(gen_random_uuid(), :t, :ev, cast(:seats as bigint[]), null,"
            " null, null, :appr, cast(:proof as uuid))")
    args = {"t": t.terminal_id, "ev": ev, "seats": seats}
    assert "lease_needs_supervisor" in _refused(t, call, **args, appr=None, proof=None)
    carla = operator_id(ctx.engine, "carla")
    # A supervisor's id without her PIN typed on this login, a proof typed on another
    # login, a cashier's own PIN: none is an approval.
    assert "no fresh supervisor PIN" in _refused(t, call, **args, appr=carla,
                                                 proof=str(uuid.uuid4()))
    elsewhere = _carla(cb)
    assert "no fresh supervisor PIN" in _refused(t, call, **args, appr=carla,
                                                 proof=str(elsewhere.proof))
    ana = authenticate(c.engine, "ana", "1234")
    assert "not an active supervisor" in _refused(t, call, **args, appr=ana.id, proof=None)
    # Nor a lease for another terminal, nor ending another terminal's lease.
    assert "lease_needs_supervisor" in _refused(t, call, **(args | {"t": tb.terminal_id}),
                                                appr=None, proof=None)
    theirs = take_lease(cb, actor_for(tb), uuid.uuid4(), ev, seat_ids=seats,
                        approver=_carla(cb))
    for revoke in (False, True):
        assert "supervisor" in _refused(
            t, "select bo_return_lease(:l, :r, null, null)", l=theirs.lease_id, r=revoke)
    assert _count(ctx, "select count(*) from leases") == before + 1
    assert _count(ctx, "select count(*) from leases where id = :l and status = 'active'",
                  l=theirs.lease_id) == 1


def test_a_supervisor_approves_a_lease_once_and_the_counter_renews_it(
        counters: dict[str, Counter], ctx: CoreContext) -> None:
    t, c = counters["b"]
    actor = actor_for(t)
    poker = event_id(ctx.engine, "POKER-OPEN")
    ga = section_id(ctx.engine, poker, "ENTRADA")
    carla = _carla(c)
    first = take_lease(c, actor, uuid.uuid4(), poker, section_id=ga, quantity=5, approver=carla)
    assert (first.kind, first.ga_quota, len(first.serials)) == ("ga", 5, 5)
    assert _count(ctx, "select count(*) from approvals where kind = 'lease' and entity_id = :l"
                  " and approved_by = :c", l=str(first.lease_id), c=carla.id) == 1
    # The proof is used: the same sign-in approves nothing else.
    with pytest.raises(BoxOfficeError) as e:
        take_lease(c, actor, uuid.uuid4(), poker, section_id=ga, quantity=5, approver=carla)
    assert e.value.code == "database_refused"
    # While it is active, no second one of that kind without a supervisor.
    with pytest.raises(BoxOfficeError) as e:
        take_lease(c, actor, uuid.uuid4(), poker, section_id=ga, quantity=5)
    assert e.value.code == "lease_needs_supervisor"
    # Returned, it is renewed (the configured auto lease after a reconnect), never larger.
    return_lease(c, actor, uuid.uuid4(), first.lease_id)
    again = take_lease(c, actor, uuid.uuid4(), poker, section_id=ga, quantity=5)
    return_lease(c, actor, uuid.uuid4(), again.lease_id)
    with pytest.raises(BoxOfficeError) as e:
        take_lease(c, actor, uuid.uuid4(), poker, section_id=ga, quantity=6)
    assert e.value.code == "lease_needs_supervisor"
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("select id, grant_kind from leases where id in (:a, :b)"),
                            {"a": first.lease_id, "b": again.lease_id}).all()
    grants: dict[uuid.UUID, str] = {r.id: r.grant_kind for r in rows}
    assert grants == {first.lease_id: "approved", again.lease_id: "renewal"}


def test_a_counter_cannot_replay_into_another_terminals_lease(counters: dict[str, Counter],
                                                              ctx: CoreContext) -> None:
    (ta, ca), (tb, cb) = counters["a"], counters["b"]
    ev = event_id(ctx.engine, "COMEDIA-HOJE")
    info = take_lease(ca, actor_for(ta), uuid.uuid4(), ev,
                      seat_ids=seats_of(ctx.engine, ev, "BAL")[-2:], approver=_carla(ca))
    sale = _sale(ca, info, list(info.seats[:1]))
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(cb, actor_for(tb), uuid.uuid4(), sale)
    assert e.value.code in ("foreign_lease", "invalid_input")  # its key is not B's either
    unsigned = LeasedSale(**{**sale.to_json(), "order_id": uuid.uuid4(),
                             "lease_id": info.lease_id, "tickets": ()})
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(cb, actor_for(tb), uuid.uuid4(), unsigned)
    assert e.value.code == "foreign_lease"
    # Passing A's terminal id from B's login does not make it A.
    assert "foreign_terminal" in _refused(
        tb, "select * from bo_confirm_leased_sale(gen_random_uuid(), gen_random_uuid(),"
        " gen_random_uuid(), :l, :a, :ev, null, null, null, cast(:seats as bigint[]), 0,"
        " 'cash', null, :total, :cur, null, null, null, '{}', '{}')",
        l=info.lease_id, a=ta.terminal_id, ev=ev, seats=[info.seats[0].seat_id],
        total=sale.total_minor, cur=sale.currency)
    assert _count(ctx, "select count(*) from event_seats where lease_id = :l and"
                  " status = 'leased'", l=info.lease_id) == 2


def test_a_replay_outside_the_lease_its_serials_its_prices_or_its_key_is_refused(
        counters: dict[str, Counter], ctx: CoreContext) -> None:
    (ta, ca), (tb, cb) = counters["a"], counters["b"]
    actor = actor_for(ta)
    ev = event_id(ctx.engine, "SINATRA")
    info = take_lease(ca, actor, uuid.uuid4(), ev, seat_ids=seats_of(ctx.engine, ev, "MEZ")[:3],
                      approver=_carla(ca))
    theirs = take_lease(cb, actor_for(tb), uuid.uuid4(), ev,
                        seat_ids=seats_of(ctx.engine, ev, "MEZ")[3:4], approver=_carla(cb))
    one = list(info.seats[:1])
    bad = {
        "a serial outside the lease's block": _sale(ca, info, one,
                                                    serials=[max(info.serials) + 10_000]),
        "a serial of another terminal's lease": _sale(ca, info, one,
                                                      serials=[theirs.serials[0]]),
        "a price below the lease's quote": _sale(ca, info, one, total_minor=0),
        "a seat outside the lease": _sale(ca, info, one,
                                          seat_ids=(theirs.seats[0].seat_id,)),
        "an order number not the lease's": _sale(ca, info, one, order_number=1),
    }
    for what, sale in bad.items():
        with pytest.raises(BoxOfficeError) as e:
            confirm_leased_sale(ca, actor, uuid.uuid4(), sale)
        assert e.value.code in ("invalid_input", "amount_mismatch", "leased_seat_gone"), what
    # Around core's own signature check, straight to the function: a token signed with
    # another terminal's key, or naming another place of the lease, is refused there.
    call = ("select * from bo_confirm_leased_sale(gen_random_uuid(), :o, gen_random_uuid(),"
            " :l, :t, :ev, null, null, null, cast(:seats as bigint[]), 0, 'cash', null, :total,"
            " :cur, null, null, null, cast(:tokens as text[]), '{0}')")
    args = {"l": info.lease_id, "t": ta.terminal_id, "ev": ev, "seats": [one[0].seat_id],
            "total": one[0].unit_price_minor, "cur": info.currency}
    order = uuid.uuid4()
    foreign_key = sign_offline_tickets(local_signer(cb.settings), [info.serials[0]], order, ev,
                                       one, None, 0)
    assert "live key" in _refused(ta, call, **args, o=order,
                                  tokens=[foreign_key[0]["token"]])
    other_seat = sign_offline_tickets(local_signer(ca.settings), [info.serials[0]], order, ev,
                                      list(info.seats[1:2]), None, 0)
    assert "offline ticket rejected" in _refused(ta, call, **args, o=order,
                                                 tokens=[other_seat[0]["token"]])
    for junk in ("not a token", "A" * 144):
        assert "offline ticket rejected" in _refused(ta, call, **args, o=order, tokens=[junk])
    # A shift of another terminal is not this counter's drawer.
    ana = authenticate(cb.engine, "ana", "1234")
    shift_b = open_shift(cb, actor_for(tb, ana.id, ana.role), uuid.uuid4(), 0)
    with pytest.raises(BoxOfficeError) as e:
        confirm_leased_sale(ca, actor, uuid.uuid4(), _sale(ca, info, one,
                                                           shift_id=shift_b.shift_id))
    assert e.value.code == "invalid_input"
    assert _count(ctx, "select count(*) from lease_sales where lease_id = :l",
                  l=info.lease_id) == 0
    assert _count(ctx, "select count(*) from event_seats where lease_id = :l and"
                  " status = 'leased'", l=info.lease_id) == 3


def test_a_counter_sells_offline_and_replays_exactly_once_on_its_own_login(
        counters: dict[str, Counter], ctx: CoreContext, tmp_path: Path) -> None:
    t, c = counters["a"]
    ana = authenticate(c.engine, "ana", "1234")
    actor = actor_for(t, ana.id, ana.role)
    shift = open_shift(c, actor, uuid.uuid4(), 10_000)
    ev = event_id(ctx.engine, "SINATRA")
    poker = event_id(ctx.engine, "POKER-OPEN")
    link = {"up": True}
    term = OfflineTerminal(c, actor, Journal(tmp_path / "journal.sqlite3"),
                           probes={"database": lambda: link["up"]}, return_on_reconnect=False)
    term.watch.offline_after = term.watch.online_after = 1
    term.watch.probe_once()
    for info in (take_lease(c, actor, uuid.uuid4(), ev,
                            seat_ids=seats_of(ctx.engine, ev, "ORQ")[:4], approver=_carla(c)),
                 take_lease(c, actor, uuid.uuid4(), poker,
                            section_id=section_id(ctx.engine, poker, "ENTRADA"), quantity=6,
                            approver=_carla(c))):
        term.leases.save(info)
    seats = seats_of(ctx.engine, ev, "ORQ")[:3]
    link["up"] = False
    term.watch.probe_once()
    assert not term.online
    sold = [term.sell_from_lease(ev, seat_ids=seats[:2], operator_id=ana.id,
                                 shift_id=shift.shift_id),
            term.sell_from_lease(ev, seat_ids=seats[2:], operator_id=ana.id,
                                 shift_id=shift.shift_id),
            term.sell_from_lease(poker, ga_qty=3, operator_id=ana.id,
                                 shift_id=shift.shift_id)]
    link["up"] = True
    term.watch.probe_once()  # back online: the terminal catches up by itself
    first = term.last_reconnect
    assert first is not None
    assert (first.replay.applied, first.replay.flagged, first.replay.remaining) == (3, 0, 0)
    assert term.push().replay.applied == 0
    # The acknowledgement lost: the same commands sent again return their first results.
    entries = [e for e in term.journal.entries() if e.command == "confirm_leased_sale"]
    numbers = {}
    for e in entries:
        res = confirm_leased_sale(c, actor, e.key, LeasedSale.from_json(e.payload))
        numbers[res.order_id] = res.number
    orders = [s.order_id for s in sold]
    assert sorted(numbers) == sorted(orders)
    assert numbers == {s.order_id: s.order_number for s in sold}
    q = {"o": orders}
    assert _count(ctx, "select count(*) from orders where id = any(:o)", **q) == 3
    assert _count(ctx, "select count(*) from lease_sales where order_id = any(:o)", **q) == 3
    assert _count(ctx, "select count(*) from tickets where order_id = any(:o) and"
                  " status = 'valid' and terminal_id = :t", **q, t=t.terminal_id) == 6
    assert _count(ctx, "select count(*) from payments where order_id = any(:o)", **q) == 3
    total = sum(s.total_minor for s in sold)
    assert _count(ctx, "select coalesce(sum(amount_minor), 0) from cash_movements where"
                  " shift_id = :s and kind = 'sale'", s=shift.shift_id) == total
    assert _count(ctx, "select count(*) from audit_log where action = 'confirm_leased_sale'"
                  " and chain = :n", n=t.name) == 3
    # The whole sale again under a new key (a hostile replay) is refused, not doubled.
    again = LeasedSale.from_json(entries[0].payload)
    with pytest.raises(BoxOfficeError) as refused:
        confirm_leased_sale(c, actor, uuid.uuid4(), again)
    assert refused.value.code in ("invalid_input", "leased_seat_gone")
    assert _count(ctx, "select count(*) from orders where id = any(:o)", **q) == 3
    term.journal.close()


def test_a_counter_records_the_card_outcome_of_its_own_offline_sales_only(
        counters: dict[str, Counter], ctx: CoreContext) -> None:
    (ta, ca), (tb, _) = counters["a"], counters["b"]
    ev = event_id(ctx.engine, "MAGICA")
    info = take_lease(ca, actor_for(ta), uuid.uuid4(), ev,
                      seat_ids=seats_of(ctx.engine, ev, "BAL")[:1], approver=_carla(ca))
    sale = _sale(ca, info, list(info.seats), payment_method="card_saf",
                 card_ref="pm_card_visa")
    confirm_leased_sale(ca, actor_for(ta), uuid.uuid4(), sale)
    flip = "update lease_sales set card_status = 'captured' where order_id = :o"
    for who, changed in ((tb, 0), (ta, 1)):
        engine = raw_engine(who)
        try:
            with engine.begin() as conn:
                assert conn.execute(text(flip), {"o": sale.order_id}).rowcount == changed
        finally:
            engine.dispose()


# --- the command line: a supervisor's PIN, typed or on standard input, never an argument

def _cli(counter: Counter, home: Path, stdin: str, *args: str
         ) -> subprocess.CompletedProcess[str]:
    """The real command line on the counter's login and data dir (its enrolled key)."""
    t, c = counter
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "BOXOFFICE_CONFIG": str(home / "absent.toml"),
           "BOXOFFICE_DATABASE__URL": psycopg_url(t.url),
           "BOXOFFICE_TERMINAL__NAME": t.name, "BOXOFFICE_TERMINAL__KIND": "cashier",
           "BOXOFFICE_TERMINAL__DATA_DIR": str(c.settings.terminal.data_dir)}
    return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *args], cwd=ROOT,
                          env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_lease_take_needs_a_supervisor_pin_from_the_prompt(counters: dict[str, Counter],
                                                           ctx: CoreContext,
                                                           tmp_path: Path) -> None:
    counter = counters["b"]
    t = counter[0]
    take = ("lease", "take", "--event", "SINATRA", "--section", "BAL", "--quantity", "2")
    leases = "select count(*) from leases where terminal_id = :t"
    before = _count(ctx, leases, t=t.terminal_id)
    # A PIN on the command line is not accepted at all (it would show in ps).
    out = _cli(counter, tmp_path, "", *take, "--supervisor", "carla", "--pin", "9999")
    assert out.returncode == 2 and "--pin" in out.stderr
    out = _cli(counter, tmp_path, "9999\n", *take)
    assert out.returncode == 1 and "lease_needs_supervisor" in out.stderr, out.stderr
    out = _cli(counter, tmp_path, "0000\n", *take, "--supervisor", "carla")
    assert out.returncode == 1 and "invalid_pin" in out.stderr, out.stderr
    out = _cli(counter, tmp_path, "", *take, "--supervisor", "carla")
    assert out.returncode == 1 and "pin_required" in out.stderr, out.stderr
    out = _cli(counter, tmp_path, "1234\n", *take, "--supervisor", "ana")  # a cashier's own PIN
    assert out.returncode == 1 and "not_authorized" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert _count(ctx, leases, t=t.terminal_id) == before
    out = _cli(counter, tmp_path, "9999\n", *take, "--supervisor", "carla")
    assert out.returncode == 0, out.stderr
    assert "2 place(s)" in out.stdout
    assert _count(ctx, leases + " and grant_kind = 'approved' and status = 'active'",
                  t=t.terminal_id) >= 1
    assert _count(ctx, leases, t=t.terminal_id) == before + 1
    # For another terminal, and ending it, from this counter: the supervisor's PIN again.
    other = counters["a"][0]
    out = _cli(counter, tmp_path, "9999\n", *take, "--for-terminal", other.name,
               "--supervisor", "carla")
    assert out.returncode == 0 and other.name in out.stdout, out.stderr
    with ctx.engine.connect() as conn:
        lease = conn.execute(text("select id from leases where terminal_id = :t and"
                                  " status = 'active' order by created_at desc limit 1"),
                             {"t": other.terminal_id}).scalar_one()
    out = _cli(counter, tmp_path, "", "lease", "return", "--lease", str(lease), "--revoke",
               "--supervisor", "carla")
    assert out.returncode == 1 and "pin_required" in out.stderr, out.stderr
    out = _cli(counter, tmp_path, "9999\n", "lease", "return", "--lease", str(lease),
               "--revoke", "--supervisor", "carla")
    assert out.returncode == 0 and "revoked" in out.stdout, out.stderr
    assert _count(ctx, "select count(*) from leases where id = :l and status = 'revoked'",
                  l=lease) == 1


def test_kiosk_exclude_needs_a_supervisor_pin_checked_by_the_database(
        counters: dict[str, Counter], ctx: CoreContext, tmp_path: Path) -> None:
    from core.selfexclusion import is_excluded

    counter = counters["a"]
    t = counter[0]
    cpf = "529.982.247-25"
    out = _cli(counter, tmp_path, "", "kiosk", "exclude", cpf, "--supervisor", "carla",
               "--pin", "9999")
    assert out.returncode == 2 and "--pin" in out.stderr
    out = _cli(counter, tmp_path, "0000\n", "kiosk", "exclude", cpf, "--supervisor", "carla")
    assert out.returncode == 1 and "invalid_pin" in out.stderr, out.stderr
    out = _cli(counter, tmp_path, "9999\n", "kiosk", "exclude", cpf)
    assert out.returncode == 1 and "not_authorized" in out.stderr, out.stderr
    assert not is_excluded(ctx.engine, cpf)
    # Around the command: the counter's login adds nothing without a typed PIN.
    assert "permission denied" in _refused(
        t, "insert into self_exclusions (identifier_hash, source) values ('\\x00', 'x')")
    assert "supervisor" in _refused(
        t, "select bo_add_exclusion('52998224725', null, 'x', :c, null)",
        c=operator_id(ctx.engine, "carla"))
    out = _cli(counter, tmp_path, "9999\n", "kiosk", "exclude", cpf, "--supervisor", "carla")
    assert out.returncode == 0, out.stderr
    assert is_excluded(ctx.engine, cpf)
