"""A database that is down or too slow answers every service with a BoxOfficeError
(issue 13 item 2): ``database_unavailable`` for a server that cannot be reached,
``database_timeout`` for a statement the server cancelled; never a raw driver error."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.actors import Actor
from core.app_context import CoreContext, build_context
from core.errors import BoxOfficeError
from core.reservation import availability, hold_best_available, hold_seats, upcoming_events
from core.sales import current_shift, open_shift, refund
from core.sales.saga import CashTender, checkout
from core.uow import autocommit, unit_of_work
from tests.conftest import make_settings
from tests.core.helpers import event_id, seats_of
from tests.logins import TerminalLogins, psycopg_url

Call = Callable[[CoreContext, Actor, int, int], Any]

# The services the issue found raising raw errors, and the holds that did not.
SERVICES: dict[str, Call] = {
    "checkout": lambda c, a, ev, seat: checkout(c, a, uuid.uuid4(), uuid.uuid4(),
                                                CashTender(10_000)),
    "refund": lambda c, a, ev, seat: refund(c, a, uuid.uuid4(), uuid.uuid4(),
                                            reason_code="customer_request"),
    "current_shift": lambda c, a, ev, seat: current_shift(c, a),
    "open_shift": lambda c, a, ev, seat: open_shift(c, a, uuid.uuid4(), 10_000),
    "availability": lambda c, a, ev, seat: availability(c.engine, ev),
    "upcoming_events": lambda c, a, ev, seat: upcoming_events(c.engine),
    "hold_seats": lambda c, a, ev, seat: hold_seats(c, a, uuid.uuid4(), ev, [seat]),
    "hold_best_available": lambda c, a, ev, seat: hold_best_available(c, a, uuid.uuid4(),
                                                                      ev, 1),
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def actor(ctx: CoreContext, counter: Actor) -> Actor:
    return Actor(terminal_id=counter.terminal_id, terminal_name=counter.terminal_name,
                 operator_id=1)


@pytest.fixture(scope="module")
def target(ctx: CoreContext) -> tuple[int, int]:
    ev = event_id(ctx.engine, "SINATRA")
    return ev, seats_of(ctx.engine, ev)[0]


@pytest.fixture(scope="module")
def dead_ctx(module_tmp: Path) -> Iterator[CoreContext]:
    url = f"postgresql://postgres:s3cr3t-pw@127.0.0.1:{_closed_port()}/boxoffice"
    c = build_context(make_settings(url, module_tmp / "dead"), url=url)
    yield c
    c.engine.dispose()


@pytest.fixture(scope="module")
def slow_ctx(module_tmp: Path, counter: Actor,
             terminal_logins: TerminalLogins) -> Iterator[CoreContext]:
    """counter-1's own login (the ``actor``'s terminal) with a 100 ms statement timeout."""
    url = psycopg_url(terminal_logins.login(counter.terminal_name, "cashier").url)
    c = build_context(make_settings(url, module_tmp / "slow",
                                    database__statement_timeout_ms=100), url=url)
    yield c
    c.engine.dispose()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_unreachable_database_is_database_unavailable(
        name: str, dead_ctx: CoreContext, actor: Actor, target: tuple[int, int]) -> None:
    with pytest.raises(BoxOfficeError) as err:
        SERVICES[name](dead_ctx, actor, *target)
    assert err.value.code == "database_unavailable"
    assert "s3cr3t-pw" not in repr(err.value.__cause__)


@pytest.fixture
def tables_locked(db_url: str) -> Iterator[None]:
    """Another session holds every table in ACCESS EXCLUSIVE mode: any statement that
    touches one waits until its statement_timeout."""
    libpq = make_url(db_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(libpq) as conn:
            names = [r[0] for r in conn.execute(
                "select quote_ident(tablename) from pg_tables where schemaname = 'public'")]
            conn.execute(f"lock table {', '.join(names)} in access exclusive mode")
            locked.set()
            release.wait(60)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert locked.wait(30)
    yield
    release.set()
    t.join(30)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_statement_timeout_is_database_timeout(
        name: str, slow_ctx: CoreContext, actor: Actor, target: tuple[int, int],
        tables_locked: None) -> None:
    with pytest.raises(BoxOfficeError) as err:
        SERVICES[name](slow_ctx, actor, *target)
    assert err.value.code == "database_timeout"


@pytest.mark.parametrize("how", ["unit_of_work", "autocommit", "connect"])
def test_every_kind_of_connection_translates(how: str, slow_ctx: CoreContext,
                                             dead_ctx: CoreContext) -> None:
    opener = {"unit_of_work": unit_of_work, "autocommit": autocommit,
              "connect": lambda e: e.connect()}[how]
    with pytest.raises(BoxOfficeError) as err, opener(slow_ctx.engine) as conn:
        conn.execute(text("select pg_sleep(2)"))
    assert err.value.code == "database_timeout"
    with pytest.raises(BoxOfficeError) as err, opener(dead_ctx.engine) as conn:
        conn.execute(text("select 1"))
    assert err.value.code == "database_unavailable"
    # The pool is usable again at once: the cancelled statement left no broken state.
    with opener(slow_ctx.engine) as conn:
        assert conn.execute(text("select 1")).scalar_one() == 1


def test_other_database_errors_stay_for_their_callers(slow_ctx: CoreContext) -> None:
    # A constraint error is not a fault of the database: the caller decides.
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError), slow_ctx.engine.connect() as conn:
        conn.execute(text("select 1/0"))


def test_exhausted_pool_is_database_timeout(db_url: str, module_tmp: Path) -> None:
    settings = make_settings(db_url, module_tmp / "tiny", database__pool_size=1,
                             database__max_overflow=0, database__pool_timeout_s=0.2)
    c = build_context(settings, url=db_url)
    try:
        with c.engine.connect(), pytest.raises(BoxOfficeError) as err:
            upcoming_events(c.engine)
        assert err.value.code == "database_timeout"
    finally:
        c.engine.dispose()


def test_unit_of_work_translates_on_any_engine(db_url: str) -> None:
    # An engine made without build_engine (a tool, a test) gets the same answers.
    from sqlalchemy import create_engine

    engine = create_engine(make_url(db_url).set(drivername="postgresql+psycopg"),
                           connect_args={"options": "-c statement_timeout=100"})
    dead = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x")
    try:
        with pytest.raises(BoxOfficeError) as err, unit_of_work(engine) as conn:
            conn.execute(text("select pg_sleep(2)"))
        assert err.value.code == "database_timeout"
        with pytest.raises(BoxOfficeError) as err, unit_of_work(dead) as conn:
            conn.execute(text("select 1"))
        assert err.value.code == "database_unavailable"
    finally:
        engine.dispose()
        dead.dispose()
