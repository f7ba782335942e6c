"""Fixtures for the back office: the module's database with a sandbox gateway, an admin
made the way a fresh install makes its first one, supervisors and a cashier, and a
2,000-seat room generated from a spec and written as CSV.

The back office's commands run on its own terminal login (``actx``: an admin login, as
``boxoffice terminal add --kind admin`` makes one); ``admin``, ``carla`` and ``dora`` are
operators signed in there (``bo_authenticate`` on that login). ``bctx`` is the owner's:
it seeds (counters' and kiosks' sales that a command then acts on) and reads results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from core.actors import Actor, OperatorInfo, authenticate, system_actor
from core.app_context import CoreContext
from core.backoffice import staff, venue_files, venue_format
from core.backoffice.events import EventSpec, TierSpec, create_event, publish
from core.backoffice.venue_generate import parse_spec
from core.backoffice.venues import import_rooms
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from tests.logins import TerminalLogins
from tests.payments.conftest import pay_settings

# The back office's console: one admin login; the supervisors sign in on it in turn.
CONSOLE = "bo-console"
PINS = {"root": "4321", "carla": "9999", "dora": "8888"}

HALL_SPEC = """
[room]
code = "{code}"
name = "Grand Hall"
timezone = "America/Sao_Paulo"
stage = "PALCO"

[[sections]]
code = "ORQ"
name = "Orquestra"
rows = 20
blocks = [10, 20, 10]
aisle = 2
shape = "curved"
curve = 2
accessible = ["T-1", "T-2", "T-39", "T-40"]
companion = ["T-3", "T-38"]

[[sections]]
code = "MEZ"
name = "Mezanino"
rows = 16
blocks = [8, 24, 8]
gap = 2

[[sections]]
code = "BAL"
name = "Balcão"
rows = 14
blocks = [10, 20, 10]
gap = 2
obstructed = ["A-1", "A-40"]

[[sections]]
code = "PISTA"
name = "Pista"
kind = "ga"
capacity = 300
"""


def hall_spec(code: str) -> str:
    return HALL_SPEC.replace("{code}", code)


def hall_csv(tmp: Path, code: str) -> Path:
    """A real-looking 2,000-seat room (800 + 640 + 560 seats, and a 300-place GA floor)
    as the CSV a venue manager would import."""
    path = tmp / f"{code}.csv"
    path.write_text(venue_format.to_csv(parse_spec(hall_spec(code))), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=11) as sb:
        yield sb


@pytest.fixture(scope="module")
def bctx(ctx: CoreContext, db_url: str, module_tmp: Path,
         sandbox: SandboxServer) -> Iterator[CoreContext]:
    settings = pay_settings(db_url, module_tmp, sandbox.base_url)
    c = CoreContext(settings=settings, engine=ctx.engine)
    c.gateway = build_gateway(settings)
    c.signer()
    yield c
    c.gateway.close()


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").set_faults(latency_ms=0, error_rate=0,
                                                      timeout_rate=0, ambiguous_rate=0)


@pytest.fixture(scope="module")
def bo_logins(ctx: CoreContext) -> Iterator[TerminalLogins]:
    logins = TerminalLogins(ctx.engine)
    yield logins
    logins.close()


@pytest.fixture(scope="module")
def actx(bctx: CoreContext, bo_logins: TerminalLogins) -> Iterator[CoreContext]:
    """The back office console's context, on its own admin login, with the gateway."""
    c = bo_logins.new_context(CONSOLE, "admin", bctx.settings,
                              gateway=build_gateway(bctx.settings))
    yield c
    c.gateway.close()


Seller = Callable[..., tuple[CoreContext, Actor]]


@pytest.fixture(scope="module")
def sellers(bctx: CoreContext, bo_logins: TerminalLogins) -> Seller:
    """``sellers(name, kind="cashier")``: that terminal's (counter, kiosk, gate, worker)
    own context and actor, on its own login, for what a back office command is seen to
    act on."""
    def make(name: str, kind: str = "cashier") -> tuple[CoreContext, Actor]:
        return bo_logins.context(name, kind, bctx.settings), bo_logins.actor(name, kind)
    return make


def sign_in(actx: CoreContext, login: str, pin: str | None = None) -> OperatorInfo:
    """``login`` types their PIN on the console: their OperatorInfo with the one-use proof
    an approval on this login needs."""
    return authenticate(actx.engine, login, pin or PINS[login])


def operator_actor(actx: CoreContext, login: str, pin: str | None = None) -> Actor:
    """``login`` signed in at the console (row security: the console acts as itself)."""
    op = sign_in(actx, login, pin)
    t = actx.settings.terminal
    with actx.engine.connect() as c:
        tid = c.execute(text("select id from terminals where name = :n"),
                        {"n": t.name}).scalar_one()
    return Actor(tid, t.name, op.id, op.role, "counter")


@pytest.fixture(scope="module")
def system(bctx: CoreContext) -> Actor:
    return system_actor(bctx.engine, "bo-setup")


@pytest.fixture(scope="module")
def admin(bctx: CoreContext, actx: CoreContext, system: Actor) -> Actor:
    with bctx.engine.connect() as c:
        exists = c.execute(text("select 1 from operators where login = 'root'")).first()
    if not exists:
        # The first admin of a fresh install: made with the owner's URL.
        staff.bootstrap_admin(bctx, system, uuid.uuid4(), "root", "Root Admin", "4321")
    return operator_actor(actx, "root")


@pytest.fixture(scope="module")
def carla(actx: CoreContext) -> Actor:
    """The demo's supervisor (PIN 9999)."""
    return operator_actor(actx, "carla")


@pytest.fixture(scope="module")
def dora(actx: CoreContext, admin: Actor) -> Actor:
    """A second supervisor, added by the admin."""
    staff.add_operator(actx, admin, uuid.uuid4(), "dora", "Dora Reis", "supervisor", "8888")
    return operator_actor(actx, "dora")


def local(days: int = 3, hour: int = 21) -> datetime:
    """A wall-clock time in the venue's zone, ``days`` ahead."""
    d = datetime.now() + timedelta(days=days)
    return d.replace(hour=hour, minute=0, second=0, microsecond=0)


def make_show(ctx: CoreContext, actor: Actor, room: str, code: str | None = None, *,
              days: int = 3, publish_it: bool = True, pct: int = 20) -> str:
    code = code or f"SHOW-{uuid.uuid4().hex[:6].upper()}"
    spec = EventSpec(code=code, name="Show " + code, room=room, starts_at=local(days),
                     tiers=(TierSpec("ORQ", 20000, 15000, 40000),
                            TierSpec("MEZ", 15000, 10000, 30000),
                            TierSpec("BAL", 9000, 6000, 18000),
                            TierSpec("PISTA", 5000, 5000, 10000)),
                     price_approval_over_pct=pct)
    create_event(ctx, actor, uuid.uuid4(), spec)
    if publish_it:
        publish(ctx, actor, uuid.uuid4(), code)
    return code


@pytest.fixture(scope="module")
def hall(actx: CoreContext, admin: Actor, module_tmp: Path) -> str:
    """The 2,000-seat room, imported once for the module."""
    code = "HALL-" + uuid.uuid4().hex[:4].upper()
    import_rooms(actx, admin, uuid.uuid4(), venue_files.load(hall_csv(module_tmp, code)))
    return code


def event_id(ctx: CoreContext, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()
