"""Fixtures for the back office: the module's database with a sandbox gateway, an admin
made the way a fresh install makes its first one, supervisors and a cashier, and a
2,000-seat room generated from a spec and written as CSV."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from core.actors import Actor, register_terminal, system_actor
from core.app_context import CoreContext
from core.backoffice import staff, venue_files, venue_format
from core.backoffice.events import EventSpec, TierSpec, create_event, publish
from core.backoffice.venue_generate import parse_spec
from core.backoffice.venues import import_rooms
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from tests.payments.conftest import pay_settings

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


def operator_actor(ctx: CoreContext, login: str, terminal: str) -> Actor:
    with ctx.engine.connect() as c:
        row = c.execute(text("select id, role from operators where login = :l"),
                        {"l": login}).one()
    tid = register_terminal(ctx.engine, terminal, "monitor")
    return Actor(tid, terminal, row.id, row.role, "counter")


@pytest.fixture(scope="module")
def system(bctx: CoreContext) -> Actor:
    return system_actor(bctx.engine, "bo-setup")


@pytest.fixture(scope="module")
def admin(bctx: CoreContext, system: Actor) -> Actor:
    with bctx.engine.connect() as c:
        exists = c.execute(text("select 1 from operators where login = 'root'")).first()
    if not exists:
        staff.bootstrap_admin(bctx, system, uuid.uuid4(), "root", "Root Admin", "4321")
    return operator_actor(bctx, "root", "bo-admin")


@pytest.fixture(scope="module")
def carla(bctx: CoreContext) -> Actor:
    """The demo's supervisor (PIN 9999)."""
    return operator_actor(bctx, "carla", "bo-monitor-1")


@pytest.fixture(scope="module")
def dora(bctx: CoreContext, admin: Actor) -> Actor:
    """A second supervisor, added by the admin."""
    staff.add_operator(bctx, admin, uuid.uuid4(), "dora", "Dora Reis", "supervisor", "8888")
    return operator_actor(bctx, "dora", "bo-monitor-2")


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
def hall(bctx: CoreContext, admin: Actor, module_tmp: Path) -> str:
    """The 2,000-seat room, imported once for the module."""
    code = "HALL-" + uuid.uuid4().hex[:4].upper()
    import_rooms(bctx, admin, uuid.uuid4(), venue_files.load(hall_csv(module_tmp, code)))
    return code


def event_id(ctx: CoreContext, code: str) -> int:
    with ctx.engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()
