"""A believable casino to sell, seeded through the back-office services (room import,
event creation and publishing, pricing rules) like a casino's own provisioning script:
create-if-absent by codes, safe to run again, as the demo, the tests and the benches use.

The rooms are ``RoomSpec`` values built here (a showroom of three seated sections, a
cabaret of tables for four, a poker hall of general admission); ``seed`` imports them
with ``core.backoffice.seeding.ensure_rooms`` and creates each show with
``ensure_event``, so what the demo shows is what a casino loading its own data gets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from core.actors import Actor, create_operator, system_actor
from core.app_context import CoreContext
from core.backoffice.events import EventSpec, TierSpec
from core.backoffice.seeding import ensure_event, ensure_rooms
from core.backoffice.venue_format import RoomSpec, SeatSpec, SectionSpec, validate
from core.backoffice.venues import list_rooms
from core.errors import BoxOfficeError
from core.uow import unit_of_work

if TYPE_CHECKING:
    from config import Settings

DEMO_OPERATORS = (
    ("ana", "Ana Souza", "cashier", "1234"),
    ("bruno", "Bruno Lima", "cashier", "2345"),
    ("carla", "Carla Mendes", "supervisor", "9999"),
)
TIMEZONE = "America/Sao_Paulo"
STAGE = "PALCO"

# Dynamic pricing the demo shows (see core/pricing.py).
DEMO_RULES: dict[str, tuple[tuple[str, dict], ...]] = {
    "SINATRA": (("occupancy", {"steps": [[50, 10], [80, 25]]}),),
    "COMEDIA-HOJE": (("last_minute", {"hours_before": 3, "percent": -20,
                                      "max_occupancy": 60}),),
}


@dataclass(frozen=True)
class Block:
    """Rows x seats of one theatre section, placed ``y0`` rows from the stage."""

    code: str
    name: str
    rows: int
    per_row: int
    y0: int
    rank_base: int


SHOWROOM = (
    Block("ORQ", "Orquestra", rows=18, per_row=32, y0=3, rank_base=0),
    Block("MEZ", "Mezanino", rows=12, per_row=30, y0=23, rank_base=100_000),
    Block("BAL", "Balcão", rows=10, per_row=28, y0=37, rank_base=200_000),
)


def row_label(i: int) -> str:
    # A..Z then AA, BB... (theatres skip I and O to avoid confusion with 1 and 0)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return letters[i] if i < len(letters) else letters[i - len(letters)] * 2


def _theatre_seats(b: Block, width: int) -> list[SeatSpec]:
    seats = []
    n = b.per_row
    offset = (width - n) // 2
    centre = (n + 1) / 2
    for r in range(b.rows):
        last = r == b.rows - 1
        for s in range(1, n + 1):
            accessible = b.code == "ORQ" and last and s in (1, 2, n - 1, n)
            companion = b.code == "ORQ" and last and s in (3, n - 2)
            obstructed = b.code == "BAL" and r == 0 and s in (1, 2, n - 1, n)
            rank = b.rank_base + r * 1000 + int(abs(s - centre) * 2) + (1 if s > centre else 0)
            if obstructed:
                rank += 50_000
            # An aisle splits each row into three blocks on the drawing.
            aisle = (1 if s > n // 4 else 0) + (1 if s > n - n // 4 else 0)
            seats.append(SeatSpec(row_label(r), s, offset + s - 1 + aisle * 2, b.y0 + r,
                                  accessible, companion, obstructed, rank))
    return seats


def _cabaret_tables(first: int, count: int, y0: int, rank_base: int) -> list[SeatSpec]:
    """Tables for four: each table is a 'row' M1, M2... of four seats."""
    seats = []
    for t in range(count):
        col, line = t % 4, t // 4
        for s in range(1, 5):
            seats.append(SeatSpec(f"M{first + t}", s, 4 + col * 12 + (s - 1) * 2, y0 + line * 3,
                                  s == 1 and t == 0, s == 2 and t == 0, False,
                                  rank_base + line * 100 + abs(col * 2 - 3) * 10 + s))
    return seats


def demo_rooms() -> list[RoomSpec]:
    width = max(b.per_row for b in SHOWROOM)
    show = RoomSpec("SHOW", "Showroom Estrela", TIMEZONE, STAGE,
                    [SectionSpec(b.code, b.name, seats=_theatre_seats(b, width))
                     for b in SHOWROOM])
    cabaret = RoomSpec("CAB", "Cabaret Lua Azul", TIMEZONE, STAGE, [
        SectionSpec("FRENTE", "Mesas da frente", seats=_cabaret_tables(1, 8, 3, 0)),
        SectionSpec("FUNDO", "Mesas do fundo", seats=_cabaret_tables(9, 12, 10, 1000))])
    poker = RoomSpec("POKER", "Salão de Poker", TIMEZONE, STAGE,
                     [SectionSpec("ENTRADA", "Inscrição", kind="ga", capacity=400)])
    return [show, cabaret, poker]


def tiers(prices: dict[str, int]) -> tuple[TierSpec, ...]:
    """The demo's price band: floor 70 % and ceiling 200 % of the base price."""
    return tuple(TierSpec(code, p, p * 7 // 10, p * 2) for code, p in prices.items())


def demo_events(today: datetime, tonight: datetime, currency: str) -> list[EventSpec]:
    """The shows, timed from the database's clock (``today``: midnight UTC; ``tonight``:
    four hours from now, on the hour). Sales opened sixty days before each show."""
    shows: list[tuple[str, str, str, datetime, dict[str, int], str]] = [
        ("COMEDIA-HOJE", "SHOW", "Noite de Comédia", tonight,
         {"ORQ": 12000, "MEZ": 9000, "BAL": 6000}, "Stand-up com quatro comediantes."),
        ("SINATRA", "SHOW", "Tributo a Sinatra", today + timedelta(days=2, hours=21),
         {"ORQ": 25000, "MEZ": 18000, "BAL": 11000}, "Big band e as canções de Frank."),
        ("MAGICA", "SHOW", "Gala de Mágica", today + timedelta(days=5, hours=20),
         {"ORQ": 19000, "MEZ": 14000, "BAL": 8000}, "Ilusionismo para toda a família."),
        ("BURLESCO", "CAB", "Cabaret Burlesco", today + timedelta(days=1, hours=22),
         {"FRENTE": 30000, "FUNDO": 22000}, "Jantar e espetáculo; mesas para quatro."),
        ("POKER-OPEN", "POKER", "Texas Hold'em Open", today + timedelta(days=3, hours=19),
         {"ENTRADA": 50000}, "Torneio freezeout, 20.000 fichas iniciais."),
    ]
    return [EventSpec(code, name, room, starts, tiers(prices),
                      doors_at=starts - timedelta(minutes=45),
                      sales_start=starts - timedelta(days=60),
                      sales_end=starts + timedelta(minutes=30), currency=currency,
                      description=desc)
            for code, room, name, starts, prices, desc in shows]


@dataclass(frozen=True)
class DemoSummary:
    venues: int
    seats: int
    events: list[tuple[str, str, str]]
    operators: tuple[tuple[str, str, str, str], ...]
    created: bool


_CLOCK = text("select date_trunc('day', now()), date_trunc('hour', now()) + interval '4 hours'")
_NS = uuid.UUID("5d8f0f7e-0a53-4b8e-9d0e-6c1f3e0de1a7")


def _seeder(engine: Engine, name: str, settings: Settings | None) -> tuple[CoreContext, Actor]:
    """A context on ``engine`` and the seeding actor: the system actor with an admin's
    rights (the pricing rules ask for a supervisor or admin role). Without ``settings``
    the process's own are read (the services need only the database's lock timeout)."""
    from config import load_settings

    ctx = CoreContext(settings=settings or load_settings(), engine=engine)
    return ctx, replace(system_actor(engine, name), role="admin")


def seed(engine: Engine, currency: str = "BRL", *,
         settings: Settings | None = None) -> DemoSummary:
    """Create the demo casino if it is not there yet; safe to run again."""
    from core.pricing import add_rule

    ctx, actor = _seeder(engine, "demo-seed", settings)
    rooms = demo_rooms()
    problems = validate(rooms)
    if problems:  # a mistake in this file, not the user's
        raise BoxOfficeError("venue_file_invalid", count=len(problems),
                             first=f"{problems[0].where}: {problems[0].message}")
    # A repeated import returns the first one's report: ask what existed before.
    before = {r.code for r in list_rooms(engine)}
    ensure_rooms(ctx, actor, rooms)
    created = any(r.code not in before for r in rooms)
    with engine.connect() as conn:
        today, tonight = conn.execute(_CLOCK).one()
    out = []
    for spec in demo_events(today, tonight, currency):
        ev, new = ensure_event(ctx, actor, spec)
        if new:
            created = True
            for n, (kind, params) in enumerate(DEMO_RULES.get(spec.code, ())):
                # The key names the event and the rule: a second seed adds nothing.
                add_rule(ctx, actor, uuid.uuid5(_NS, f"{ev.id}:{n}:{kind}"), ev.id, kind,
                         params)
        out.append((spec.code, spec.name, ev.starts_at.astimezone(UTC).isoformat(
            timespec="minutes")))
    created = _operators(engine) or created
    seats = sum(len(s.seats) for r in rooms for s in r.sections if s.kind == "seated")
    return DemoSummary(len(rooms), seats, out, DEMO_OPERATORS, created)


_OPERATOR_EXISTS = text("select 1 from operators where login = :l")


def _operators(engine: Engine) -> bool:
    """The demo's staff. ``create_operator`` has the database hash each PIN (a terminal's
    own login verifies it with ``bo_authenticate``); ``boxoffice operator add`` is for a
    casino's staff, who type their PIN themselves."""
    added = False
    with unit_of_work(engine) as conn:
        for login, display, role, pin in DEMO_OPERATORS:
            if conn.execute(_OPERATOR_EXISTS, {"l": login}).first() is None:
                create_operator(conn, login, display, role, pin)
                added = True
    return added


def arena(engine: Engine, rows: int = 50, per_row: int = 100, *,
          code: str = "ARENA-BENCH") -> int:
    """A big room (``rows`` x ``per_row``, aisles in thirds) with one event on sale
    tomorrow, seeded like the demo; returns the event id (the seat-map bench)."""
    ctx, actor = _seeder(engine, "bench-seed", None)
    seats = []
    for r in range(rows):
        for s in range(1, per_row + 1):
            aisle = (1 if s > per_row // 3 else 0) + (1 if s > 2 * per_row // 3 else 0)
            seats.append(SeatSpec(f"R{r + 1:02d}", s, s - 1 + aisle * 2, r,
                                  rank=r * 1000 + abs(s - per_row // 2)))
    room = RoomSpec("ARENA", "Arena 5000", TIMEZONE, STAGE,
                    [SectionSpec("ARENA", "Arena", seats=seats)])
    ensure_rooms(ctx, actor, [room])
    starts = datetime.now(UTC) + timedelta(days=1)
    ev, _ = ensure_event(ctx, actor, EventSpec(
        code, "Bench night", "ARENA", starts, (TierSpec("ARENA", 10000),),
        sales_start=starts - timedelta(days=30)))
    return int(ev.id)


__all__: list[Any] = ["DEMO_OPERATORS", "DEMO_RULES", "DemoSummary", "arena", "demo_events",
                      "demo_rooms", "seed"]
