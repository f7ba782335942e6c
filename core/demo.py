"""A believable casino to sell, seeded through the back-office services (room import,
event creation and publishing, pricing rules) like a casino's own provisioning script:
create-if-absent by codes, safe to run again, as the demo, the tests and the benches use.

The rooms are ``RoomSpec`` values built here (a showroom of three seated sections, a
cabaret of tables for four, a poker hall of general admission); ``seed`` imports them
with ``core.backoffice.seeding.ensure_rooms`` and creates each show with
``ensure_event``, so what the demo shows is what a casino loading its own data gets.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

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


# The demo's terminals: the cashier app and the worker in its process, each on its own
# login like a casino's terminals (``boxoffice terminal add``), never on the owner's.
DEMO_WORKER = "demo-worker"
LOGINS_DIR = "demo-logins"


@dataclass(frozen=True)
class DemoLogin:
    name: str
    kind: str
    login: str
    url: str  # libpq form, with the password


def demo_login(owner_engine: Engine, data_dir: Path, name: str, kind: str) -> DemoLogin:
    """The login the demo's terminal ``name`` runs on, as the owner provisions one: made
    on the first run, its password kept 0600 in the demo's data dir and reused next time;
    reset when the saved one no longer opens the login (a lost file, a new database).
    Only the login and password are kept: the embedded server's port changes per run, so
    the URL is the owner's own with the terminal's credentials."""
    from core.provisioning import provision_terminal, terminal_url

    folder = Path(data_dir) / LOGINS_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / f"{name}.json"
    owner_url = owner_engine.url.render_as_string(hide_password=False)
    with owner_engine.connect() as conn:
        have = conn.execute(text(
            "select l.login from terminal_logins l join terminals t on t.id = l.terminal_id"
            " where t.name = :n"), {"n": name}).scalar()
    if have is None:
        t = provision_terminal(owner_engine, name, kind)
        _keep(path, t.login, t.password)
        return DemoLogin(name, kind, t.login, t.url)
    saved = _saved_password(path, have)
    if saved is not None and _opens(terminal_url(owner_url, have, saved)):
        return DemoLogin(name, kind, have, terminal_url(owner_url, have, saved))
    password = secrets.token_urlsafe(24)
    with unit_of_work(owner_engine) as conn:
        conn.exec_driver_sql(conn.execute(text(
            "select format('alter role %I password %L', cast(:l as text), cast(:p as text))"),
            {"l": have, "p": password}).scalar_one())
    _keep(path, have, password)
    return DemoLogin(name, kind, have, terminal_url(owner_url, have, password))


def _keep(path: Path, login: str, password: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older run keeps its mode otherwise
    with os.fdopen(fd, "w") as f:
        json.dump({"login": login, "password": password}, f)


def _saved_password(path: Path, login: str) -> str | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("login") != login:
        return None
    password = doc.get("password")
    return password if isinstance(password, str) else None


def _opens(url: str) -> bool:
    from core.db.engine import normalize_url

    engine = create_engine(normalize_url(url), poolclass=NullPool,
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            return conn.execute(text("select bo_my_terminal()")).scalar() is not None
    except Exception:
        return False
    finally:
        engine.dispose()


def demo_logins(owner_engine: Engine, settings: Settings) -> tuple[DemoLogin, DemoLogin]:
    """The demo's cashier (the configured terminal name) and worker logins."""
    data_dir = Path(settings.terminal.data_dir)
    return (demo_login(owner_engine, data_dir, settings.terminal.name, "cashier"),
            demo_login(owner_engine, data_dir, DEMO_WORKER, "worker"))


def login_settings(settings: Settings, login: DemoLogin) -> Settings:
    """``settings`` for the process of terminal ``login``: its name and database URL."""
    from pydantic import SecretStr

    kind = login.kind if login.kind in ("cashier", "kiosk", "monitor") else "cashier"
    return settings.model_copy(update={
        "terminal": settings.terminal.model_copy(update={"name": login.name, "kind": kind}),
        "database": settings.database.model_copy(update={"url": SecretStr(login.url)})})


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


__all__: list[Any] = ["DEMO_OPERATORS", "DEMO_RULES", "DEMO_WORKER", "DemoLogin", "DemoSummary",
                      "arena", "demo_events", "demo_login", "demo_logins", "demo_rooms",
                      "login_settings", "seed"]
