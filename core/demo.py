"""A believable casino to sell: seeded idempotently (by codes) for the demo and tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, text

from core.actors import create_operator, system_actor
from core.catalog import publish_event
from core.uow import unit_of_work

DEMO_OPERATORS = (
    ("ana", "Ana Souza", "cashier", "1234"),
    ("bruno", "Bruno Lima", "cashier", "2345"),
    ("carla", "Carla Mendes", "supervisor", "9999"),
)


# Dynamic pricing the demo shows (see core/pricing.py).
DEMO_RULES: dict[str, tuple[tuple[str, dict], ...]] = {
    "SINATRA": (("occupancy", {"steps": [[50, 10], [80, 25]]}),),
    "COMEDIA-HOJE": (("last_minute", {"hours_before": 3, "percent": -20,
                                      "max_occupancy": 60}),),
}


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name: str
    rows: int = 0
    per_row: int = 0
    kind: str = "seated"
    capacity: int = 0
    y0: int = 0
    rank_base: int = 0


SHOWROOM = (
    SectionSpec("ORQ", "Orquestra", rows=18, per_row=32, y0=3, rank_base=0),
    SectionSpec("MEZ", "Mezanino", rows=12, per_row=30, y0=23, rank_base=100_000),
    SectionSpec("BAL", "Balcão", rows=10, per_row=28, y0=37, rank_base=200_000),
)


def _row_label(i: int) -> str:
    # A..Z then AA, BB... (theatres skip I and O to avoid confusion with 1 and 0)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return letters[i] if i < len(letters) else letters[i - len(letters)] * 2


def _venue(conn: Connection, code: str, name: str) -> int:
    return conn.execute(
        text("insert into venues (code, name, timezone, stage_label) values (:c, :n,"
             " 'America/Sao_Paulo', 'PALCO') on conflict (code) do update set name = excluded.name"
             " returning id"), {"c": code, "n": name}).scalar_one()


def _section(conn: Connection, venue_id: int, spec: SectionSpec, order: int) -> tuple[int, bool]:
    cap = spec.capacity if spec.kind == "ga" else spec.rows * spec.per_row
    row = conn.execute(
        text("insert into sections (venue_id, code, name, kind, capacity, sort_order)"
             " values (:v, :c, :n, :k, :cap, :o) on conflict (venue_id, code) do nothing"
             " returning id"),
        {"v": venue_id, "c": spec.code, "n": spec.name, "k": spec.kind, "cap": cap, "o": order},
    ).first()
    if row is not None:
        return row[0], True
    return conn.execute(text("select id from sections where venue_id = :v and code = :c"),
                        {"v": venue_id, "c": spec.code}).scalar_one(), False


def _theatre_seats(conn: Connection, section_id: int, spec: SectionSpec, width: int) -> None:
    rows = []
    for r in range(spec.rows):
        label = _row_label(r)
        n = spec.per_row
        offset = (width - n) // 2
        centre = (n + 1) / 2
        for s in range(1, n + 1):
            accessible = spec.code == "ORQ" and r == spec.rows - 1 and s in (1, 2, n - 1, n)
            companion = spec.code == "ORQ" and r == spec.rows - 1 and s in (3, n - 2)
            obstructed = spec.code == "BAL" and r == 0 and s in (1, 2, n - 1, n)
            rank = spec.rank_base + r * 1000 + int(abs(s - centre) * 2) + (1 if s > centre else 0)
            if obstructed:
                rank += 50_000
            # An aisle splits each row into three blocks on the drawing.
            aisle = (1 if s > n // 4 else 0) + (1 if s > n - n // 4 else 0)
            rows.append({"sec": section_id, "row": label, "num": s,
                         "x": offset + s - 1 + aisle * 2, "y": spec.y0 + r,
                         "acc": accessible, "comp": companion, "obs": obstructed, "rank": rank})
    _insert_seats(conn, rows)


def _insert_seats(conn: Connection, rows: list[dict]) -> None:
    conn.execute(
        text("insert into seats (section_id, row_label, number, x, y, accessible, companion,"
             " obstructed, quality_rank) values (:sec, :row, :num, :x, :y, :acc, :comp, :obs,"
             " :rank) on conflict do nothing"), rows)


def _cabaret_tables(conn: Connection, section_id: int, first: int, count: int, y0: int,
                    rank_base: int) -> None:
    rows = []
    for t in range(count):
        label = f"M{first + t}"
        col, line = t % 4, t // 4
        for s in range(1, 5):
            rows.append({"sec": section_id, "row": label, "num": s,
                         "x": 4 + col * 12 + (s - 1) * 2, "y": y0 + line * 3,
                         "acc": s == 1 and t == 0, "comp": s == 2 and t == 0, "obs": False,
                         "rank": rank_base + line * 100 + abs(col * 2 - 3) * 10 + s})
    _insert_seats(conn, rows)


def _event(conn: Connection, code: str, venue_id: int, name: str, starts: datetime,
           currency: str, description: str) -> tuple[int, bool]:
    row = conn.execute(
        text("insert into events (code, venue_id, name, starts_at, doors_at, sales_start,"
             " sales_end, status, currency, description) values (:c, :v, :n, :s,"
             " :d, :ss, :se, 'draft', :cur, :desc) on conflict (code) do nothing returning id"),
        {"c": code, "v": venue_id, "n": name, "s": starts, "d": starts - timedelta(minutes=45),
         "ss": starts - timedelta(days=60), "se": starts + timedelta(minutes=30),
         "cur": currency, "desc": description},
    ).first()
    if row is not None:
        return row[0], True
    return conn.execute(text("select id from events where code = :c"), {"c": code}).scalar_one(), \
        False


def _tiers(conn: Connection, event_id: int, venue_id: int, prices: dict[str, int]) -> None:
    for code, price in prices.items():
        conn.execute(
            text("insert into price_tiers (event_id, section_id, name, base_minor, floor_minor,"
                 " ceiling_minor, current_minor) select :e, id, name, :p, :lo, :hi, :p from"
                 " sections where venue_id = :v and code = :c on conflict do nothing"),
            {"e": event_id, "v": venue_id, "c": code, "p": price, "lo": price * 7 // 10,
             "hi": price * 2})


@dataclass(frozen=True)
class DemoSummary:
    venues: int
    seats: int
    events: list[tuple[str, str, str]]
    operators: tuple[tuple[str, str, str, str], ...]
    created: bool


def seed(engine: Engine, currency: str = "BRL") -> DemoSummary:
    """Create the demo casino if it is not there yet; safe to run again."""
    actor = system_actor(engine, "demo-seed")
    with unit_of_work(engine) as conn:
        conn.execute(text("select pg_advisory_xact_lock(4242)"))
        created = False
        show = _venue(conn, "SHOW", "Showroom Estrela")
        width = max(s.per_row for s in SHOWROOM)
        for i, spec in enumerate(SHOWROOM):
            sid, new = _section(conn, show, spec, i)
            if new:
                _theatre_seats(conn, sid, spec, width)
                created = True
        cab = _venue(conn, "CAB", "Cabaret Lua Azul")
        front, new1 = _section(conn, cab, SectionSpec("FRENTE", "Mesas da frente", rows=2,
                                                      per_row=16), 0)
        rear, new2 = _section(conn, cab, SectionSpec("FUNDO", "Mesas do fundo", rows=3,
                                                     per_row=16), 1)
        if new1:
            _cabaret_tables(conn, front, 1, 8, 3, 0)
        if new2:
            _cabaret_tables(conn, rear, 9, 12, 10, 1000)
        poker = _venue(conn, "POKER", "Salão de Poker")
        _section(conn, poker, SectionSpec("ENTRADA", "Inscrição", kind="ga", capacity=400), 0)

        today = conn.execute(text("select date_trunc('day', now())")).scalar_one()
        tonight = conn.execute(text("select date_trunc('hour', now()) + interval '4 hours'")
                               ).scalar_one()
        evs = [
            ("COMEDIA-HOJE", show, "Noite de Comédia", tonight,
             {"ORQ": 12000, "MEZ": 9000, "BAL": 6000}, "Stand-up com quatro comediantes."),
            ("SINATRA", show, "Tributo a Sinatra", today + timedelta(days=2, hours=21),
             {"ORQ": 25000, "MEZ": 18000, "BAL": 11000}, "Big band e as canções de Frank."),
            ("MAGICA", show, "Gala de Mágica", today + timedelta(days=5, hours=20),
             {"ORQ": 19000, "MEZ": 14000, "BAL": 8000}, "Ilusionismo para toda a família."),
            ("BURLESCO", cab, "Cabaret Burlesco", today + timedelta(days=1, hours=22),
             {"FRENTE": 30000, "FUNDO": 22000}, "Jantar e espetáculo; mesas para quatro."),
            ("POKER-OPEN", poker, "Texas Hold'em Open", today + timedelta(days=3, hours=19),
             {"ENTRADA": 50000}, "Torneio freezeout, 20.000 fichas iniciais."),
        ]
        out = []
        for code, venue, name, starts, prices, desc in evs:
            eid, new = _event(conn, code, venue, name, starts, currency, desc)
            if new:
                _tiers(conn, eid, venue, prices)
                for kind, params in DEMO_RULES.get(code, ()):
                    conn.execute(text("insert into pricing_rules (event_id, section_id, kind,"
                                      " params, active) values (:e, null, :k,"
                                      " cast(:p as jsonb), true)"),
                                 {"e": eid, "k": kind, "p": json.dumps(params)})
                publish_event(conn, actor, eid)
                created = True
            out.append((code, name, starts.isoformat(timespec="minutes")))
        for login, display, role, pin in DEMO_OPERATORS:
            exists = conn.execute(text("select 1 from operators where login = :l"),
                                  {"l": login}).first()
            if not exists:
                create_operator(conn, login, display, role, pin)
        seats = conn.execute(text("select count(*) from seats")).scalar_one()
        venues = conn.execute(text("select count(*) from venues")).scalar_one()
    return DemoSummary(venues, seats, out, DEMO_OPERATORS, created)
