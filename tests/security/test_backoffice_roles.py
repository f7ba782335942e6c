"""The back office under roles: the supervisor console's live steering (pause, price
override, seat blocks, GA capacity) works on a monitor login and on no seller's; staff
management works on an admin login only, PINs are hashed inside the database, and a
sign-in is recorded by ``bo_authenticate`` itself."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.actors import authenticate, create_operator
from core.backoffice import events, inventory, prices, staff
from core.errors import BoxOfficeError
from core.uow import unit_of_work
from tests.printing.conftest import event_id
from tests.security.conftest import actor_for, terminal_context

EVENT = "SINATRA"


@pytest.fixture(scope="module")
def logins(provision, tmp_path_factory, ctx):
    with unit_of_work(ctx.engine) as conn:
        create_operator(conn, "root-sec", "Root", "admin", "4321")
    made = {}
    for kind in ("monitor", "admin", "kiosk", "cashier"):
        t = provision(kind, f"sec-bo-{kind}")
        made[kind] = (t, terminal_context(t, tmp_path_factory.mktemp(f"bo-{kind}")))
    yield made
    for _, c in made.values():
        c.engine.dispose()


def _signed_in(logins, kind: str, login: str = "carla", pin: str = "9999"):
    t, c = logins[kind]
    op = authenticate(c.engine, login, pin)
    return c, actor_for(t, op.id, op.role)


def _a_free_seat(ctx) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(text("select seat_id from event_seats where event_id = :e and"
                                 " status = 'available' order by seat_id desc limit 1"),
                            {"e": event_id(ctx, EVENT)}).scalar_one()


def _steer(c, actor, ctx) -> None:
    """The console's four live actions, each undone so the next login finds it as it was."""
    key = uuid.uuid4
    assert events.set_sales(c, actor, key(), EVENT, "pause").status == "paused"
    assert events.set_sales(c, actor, key(), EVENT, "resume").status == "on_sale"
    seat = _a_free_seat(ctx)
    assert inventory.block_seats(c, actor, key(), EVENT, [seat], reason="press").changed == (seat,)
    assert inventory.unblock_seats(c, actor, key(), EVENT, [seat]).changed == (seat,)
    ga = event_id(ctx, "POKER-OPEN")
    assert inventory.set_ga_capacity(c, actor, key(), ga, "ENTRADA", 390).capacity == 390
    assert inventory.set_ga_capacity(c, actor, key(), ga, "ENTRADA", 400).capacity == 400
    with ctx.engine.connect() as conn:
        now = conn.execute(text("select pt.current_minor from price_tiers pt join sections s"
                                " on s.id = pt.section_id where pt.event_id = :e order by"
                                " s.sort_order limit 1"), {"e": event_id(ctx, EVENT)}
                           ).scalar_one()
        section = conn.execute(text("select s.code from price_tiers pt join sections s"
                                    " on s.id = pt.section_id where pt.event_id = :e order by"
                                    " s.sort_order limit 1"), {"e": event_id(ctx, EVENT)}
                               ).scalar_one()
    prices.override_price(c, actor, key(), EVENT, section, now + 100, reason="test")
    prices.override_price(c, actor, key(), EVENT, section, now, reason="test")


def test_a_monitor_login_steers_the_live_sale(logins, ctx):
    c, actor = _signed_in(logins, "monitor")
    _steer(c, actor, ctx)


@pytest.mark.parametrize("kind", ("kiosk", "cashier"))
def test_a_sellers_login_cannot_steer_even_with_a_supervisor_signed_in(logins, ctx, kind):
    """The stolen login plus a supervisor's sign-in (or a forged Actor claiming one):
    the database refuses each action."""
    t, c = logins[kind]
    actor = actor_for(t, 1, "supervisor")  # a forged claim: the client checks pass
    seat = _a_free_seat(ctx)
    for act in (lambda: events.set_sales(c, actor, uuid.uuid4(), EVENT, "pause"),
                lambda: inventory.block_seats(c, actor, uuid.uuid4(), EVENT, [seat],
                                              reason="x"),
                lambda: inventory.set_ga_capacity(c, actor, uuid.uuid4(), "POKER-OPEN",
                                                  "ENTRADA", 1)):
        with pytest.raises((BoxOfficeError, DBAPIError)) as e:
            act()
        msg = str(e.value)
        assert "permission denied" in msg or "row-level security" in msg \
            or getattr(e.value, "code", "") in ("database_refused", "not_authorized"), msg
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select status from events where code = :c"),
                            {"c": EVENT}).scalar_one() == "on_sale"
        assert conn.execute(text("select status from event_seats where seat_id = :s and"
                                 " event_id = :e"), {"s": seat, "e": event_id(ctx, EVENT)}
                            ).scalar_one() == "available"


def test_staff_management_is_the_admin_logins_only(logins, ctx):
    c, admin = _signed_in(logins, "admin", "root-sec", "4321")
    oid = staff.add_operator(c, admin, uuid.uuid4(), "dora", "Dora", "cashier", "5678")
    # Hashed by the database (its own format), never an argon2 hash from a client.
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select pin_hash like 'bo1$%' from operators where id = :i"),
                            {"i": oid}).scalar_one()
    staff.reset_pin(c, admin, uuid.uuid4(), "dora", "8765")
    staff.set_role(c, admin, uuid.uuid4(), "dora", "supervisor")
    # The admin login steers like a monitor too.
    _steer(c, admin, ctx)
    for kind in ("monitor", "cashier", "kiosk"):
        t, other = logins[kind]
        forged = actor_for(t, admin.operator_id, "admin")
        with pytest.raises(BoxOfficeError) as e:
            staff.add_operator(other, forged, uuid.uuid4(), f"eve-{kind}", "Eve", "admin",
                               "1111")
        assert e.value.code == "database_refused", kind
        with pytest.raises(BoxOfficeError) as e:
            staff.reset_pin(other, forged, uuid.uuid4(), "carla", "0000")
        assert e.value.code == "database_refused", kind
        with pytest.raises(BoxOfficeError) as e:
            staff.set_role(other, forged, uuid.uuid4(), "ana", "admin")
        assert e.value.code == "database_refused", kind
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select count(*) from operators where login like 'eve-%'"
                                 " or (login = 'ana' and role = 'admin')")).scalar_one() == 0


def test_a_sign_in_is_recorded_by_the_database(logins, ctx):
    _, c = logins["kiosk"]
    with ctx.engine.begin() as conn:
        conn.execute(text("update operators set last_sign_in_at = null where login = 'bruno'"))
    authenticate(c.engine, "bruno", "2345")  # a kiosk login cannot write operators itself
    with ctx.engine.connect() as conn:
        assert conn.execute(text("select last_sign_in_at is not null from operators"
                                 " where login = 'bruno'")).scalar_one()
    with pytest.raises(DBAPIError, match="permission denied"), c.engine.begin() as conn:
        conn.execute(text("update operators set last_sign_in_at = now()"))
