"""Fixtures for the offline tests: a terminal whose database link goes through a proxy
the test can cut, with its own journal in the module's temp dir.

Each terminal connects as its own cashier login (tests/logins.py), provisioned by the
owner; a module that makes terminals uses the ``sync_logins`` fixture (its logins are
dropped at the end). The owner's ``ctx`` seeds, moves the clock and reads results. A
lease on a terminal's login needs a supervisor's PIN typed there (``lease``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.actors import Actor, OperatorInfo, authenticate
from core.app_context import CoreContext, build_context
from core.leases import LeaseInfo, take_lease
from sync.journal import Journal
from sync.terminal import OfflineTerminal
from tests.conftest import make_actor, make_settings
from tests.logins import TerminalLogins, psycopg_url
from tests.sync.tcpproxy import TcpProxy

# The module's terminal logins, by the owner's engine (``sync_logins``).
_LOGINS: dict[int, TerminalLogins] = {}


@pytest.fixture(scope="module")
def sync_logins(ctx: CoreContext) -> Iterator[TerminalLogins]:
    logins = _LOGINS[id(ctx.engine)] = TerminalLogins(ctx.engine)
    yield logins
    del _LOGINS[id(ctx.engine)]
    logins.close()


def logins_of(ctx: CoreContext) -> TerminalLogins:
    try:
        return _LOGINS[id(ctx.engine)]
    except KeyError:
        raise AssertionError("this module makes terminals: use the sync_logins fixture"
                             " (pytestmark)") from None


def login_url(ctx: CoreContext, name: str, kind: str = "cashier") -> str:
    """Terminal ``name``'s own connection URL (its login made on first use)."""
    return psycopg_url(logins_of(ctx).login(name, kind).url)


def terminal_actor(ctx: CoreContext, name: str, kind: str = "cashier",
                   operator_id: int | None = None, role: str | None = None) -> Actor:
    """The actor of terminal ``name`` on its own login."""
    return logins_of(ctx).actor(name, kind, operator_id, role)


def online_counter(ctx: CoreContext, name: str) -> tuple[CoreContext, Actor]:
    """Another counter selling online on its own login: ana signed in, drawer open (a
    sale there is a cash checkout, ``cash_sale``)."""
    from sqlalchemy import text

    from core.sales import open_shift

    with ctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    logins = logins_of(ctx)
    own = logins.context(name, "cashier", ctx.settings, pool_size=2)
    actor = logins.actor(name, "cashier", ana, "cashier")
    open_shift(own, actor, uuid.uuid4(), 0)
    return own, actor


def cash_sale(own: CoreContext, actor: Actor, hold: object) -> object:
    """A counter's sale of ``hold``: a checkout paid in cash; its order."""
    from core.sales import CashTender, checkout

    return checkout(own, actor, uuid.uuid4(), hold.hold_id,  # type: ignore[attr-defined]
                    CashTender(hold.total_minor)).order  # type: ignore[attr-defined]


def supervisor(engine: object, login: str = "carla", pin: str = "9999") -> OperatorInfo:
    """A supervisor typing their PIN on the terminal whose engine this is: the one-use
    proof the database asks of a lease."""
    return authenticate(engine, login, pin)  # type: ignore[arg-type]


def lease(term: OfflineTerminal, key: object, event_id: int, **where: object) -> LeaseInfo:
    """``term.take_lease`` with a supervisor's approval typed on the terminal's login:
    ``OfflineTerminal.take_lease`` passes none, and a terminal's first lease needs one."""
    term.ctx.signer()  # registers this terminal's public key, so gates trust its tickets
    info = take_lease(term.ctx, term.actor, key, event_id,  # type: ignore[arg-type]
                      approver=supervisor(term.ctx.engine), **where)  # type: ignore[arg-type]
    term.leases.save(info)
    return info


@pytest.fixture
def proxy(db_url: str) -> Iterator[TcpProxy]:
    u = make_url(db_url)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    yield p
    p.close()


def proxied_url(db_url: str, proxy: TcpProxy) -> str:
    return make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def make_terminal(ctx: CoreContext, db_url: str, proxy: TcpProxy | None, tmp: Path,
                  name: str | None = None, cards: object = None, *,
                  on_owner: bool = False, **overrides: object) -> OfflineTerminal:
    """A terminal with its own engine on its own login (through ``proxy`` when given)
    and journal; ``on_owner``: on the owner's URL, where a test says why."""
    name = name or f"t-{uuid.uuid4().hex[:6]}"
    own = db_url if on_owner else login_url(ctx, name)
    url = proxied_url(own, proxy) if proxy else own
    base = {"sync__offline_after_failures": 1, "sync__online_after_successes": 1,
            "sync__probe_timeout_s": 1.0, "database__connect_timeout_s": 1,
            "database__lock_timeout_ms": 1000, "terminal__name": name}
    base.update(overrides)
    settings = make_settings(url, tmp / name, **base)
    tctx = build_context(settings, url=url)
    actor = make_actor(ctx, name) if on_owner else terminal_actor(ctx, name)
    journal = Journal(tmp / name / "journal.sqlite3")
    return OfflineTerminal(tctx, actor, journal, cards=cards)  # type: ignore[arg-type]
