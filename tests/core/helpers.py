"""Small helpers for the core tests: look-ups by code and invariant checks in SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text


def event_id(engine: Engine, code: str) -> int:
    with engine.connect() as c:
        return c.execute(text("select id from events where code = :c"), {"c": code}).scalar_one()


def section_id(engine: Engine, event: int, code: str) -> int:
    with engine.connect() as c:
        return c.execute(text("select s.id from sections s join events e on e.venue_id ="
                              " s.venue_id where e.id = :e and s.code = :c"),
                         {"e": event, "c": code}).scalar_one()


def seats_of(engine: Engine, event: int, section_code: str | None = None) -> list[int]:
    q = ("select es.seat_id from event_seats es join sections s on s.id = es.section_id"
         " where es.event_id = :e and (cast(:c as text) is null or s.code = :c)"
         " order by es.seat_id")
    with engine.connect() as c:
        return [r[0] for r in c.execute(text(q), {"e": event, "c": section_code})]


def key() -> uuid.UUID:
    return uuid.uuid4()


def age_hold(engine: Engine, hold_id: uuid.UUID, seconds: int = 1) -> None:
    """Move a hold's expiry into the past on the database clock (time passing)."""
    with engine.begin() as c:
        c.execute(text("update holds set expires_at = now() - make_interval(secs => :s)"
                       " where id = :h"), {"s": seconds, "h": hold_id})
        c.execute(text("update event_seats set hold_expires_at = now() - make_interval(secs"
                       " => :s) where hold_id = :h"), {"s": seconds, "h": hold_id})


def invariants(engine: Engine) -> list[str]:
    """Every way the reservation model could be inconsistent, as readable problems."""
    checks = {
        "seat sold twice": """
            select seat_id, event_id from order_lines where seat_id is not null
              and status = 'sold' group by seat_id, event_id having count(*) > 1""",
        "sold seat without exactly its order line": """
            select es.seat_id from event_seats es where es.status = 'sold' and not exists (
              select 1 from order_lines ol where ol.order_id = es.order_id
                and ol.seat_id = es.seat_id and ol.event_id = es.event_id)""",
        "order line seat not marked sold": """
            select ol.seat_id from order_lines ol join event_seats es on es.event_id =
              ol.event_id and es.seat_id = ol.seat_id
            where ol.status = 'sold' and ol.seat_id is not null
              and (es.status <> 'sold' or es.order_id <> ol.order_id)""",
        "held seat whose hold is not active": """
            select es.seat_id from event_seats es left join holds h on h.id = es.hold_id
            where es.status = 'held' and (h.id is null or h.status <> 'active')""",
        "held seat not among its hold's items": """
            select es.seat_id from event_seats es where es.status = 'held' and not exists (
              select 1 from hold_items hi where hi.hold_id = es.hold_id
                and hi.seat_id = es.seat_id)""",
        "seat held by two live holds": """
            select hi.seat_id from hold_items hi join holds h on h.id = hi.hold_id
            where h.status = 'active' and h.expires_at > now() and hi.seat_id is not null
            group by hi.event_id, hi.seat_id having count(*) > 1""",
        "GA over capacity or counts wrong": """
            select gi.section_id from ga_inventory gi where gi.held + gi.sold + gi.leased
              > gi.capacity or gi.sold <> coalesce((select sum(ol.qty) from order_lines ol
              where ol.event_id = gi.event_id and ol.section_id = gi.section_id
              and ol.seat_id is null and ol.status = 'sold'), 0)
              or gi.held <> coalesce((select sum(hi.qty) from hold_items hi join holds h
              on h.id = hi.hold_id where h.status = 'active' and hi.event_id = gi.event_id
              and hi.section_id = gi.section_id and hi.seat_id is null), 0)""",
        "order total differs from its lines": """
            select o.id from orders o where o.total_minor <> (select sum(qty *
              unit_price_minor) from order_lines where order_id = o.id)""",
    }
    problems = []
    with engine.connect() as c:
        for name, q in checks.items():
            rows = c.execute(text(q)).all()
            if rows:
                problems.append(f"{name}: {rows[:5]}")
    return problems


def make_event(engine: Engine, *, rows: int = 0, per_row: int = 0, ga_capacity: int = 0,
               price: int = 1000) -> tuple[int, int | None, int | None]:
    """A small room of its own (seated rows and/or one GA section), published and on sale.
    Returns (event_id, seated_section_id, ga_section_id)."""
    from core.actors import system_actor
    from core.catalog import publish_event
    from core.uow import unit_of_work

    tag = uuid.uuid4().hex[:8].upper()
    actor = system_actor(engine, "test-setup")
    with unit_of_work(engine) as c:
        venue = c.execute(text("insert into venues (code, name, timezone, stage_label) values"
                               " (:c, :c, 'UTC', 'STAGE') returning id"), {"c": tag}).scalar_one()
        seated = ga = None
        if rows:
            seated = c.execute(text(
                "insert into sections (venue_id, code, name, kind, capacity, sort_order)"
                " values (:v, 'S', 'Seated', 'seated', :cap, 0) returning id"),
                {"v": venue, "cap": rows * per_row}).scalar_one()
            c.execute(text(
                "insert into seats (section_id, row_label, number, x, y, accessible, companion,"
                " obstructed, quality_rank) values (:s, :r, :n, :n, :y, false, false, false,"
                " :q)"),
                [{"s": seated, "r": chr(65 + r), "n": n, "y": r,
                  "q": r * 1000 + abs(2 * n - per_row - 1)}
                 for r in range(rows) for n in range(1, per_row + 1)])
        if ga_capacity:
            ga = c.execute(text(
                "insert into sections (venue_id, code, name, kind, capacity, sort_order)"
                " values (:v, 'GA', 'Floor', 'ga', :cap, 1) returning id"),
                {"v": venue, "cap": ga_capacity}).scalar_one()
        ev = c.execute(text(
            "insert into events (code, venue_id, name, starts_at, sales_start, sales_end, status,"
            " currency, description) values (:c, :v, :c, now() + interval '2 days',"
            " now() - interval '1 day', now() + interval '1 day', 'draft', 'BRL', '')"
            " returning id"), {"c": tag, "v": venue}).scalar_one()
        for sec in (seated, ga):
            if sec is not None:
                c.execute(text(
                    "insert into price_tiers (event_id, section_id, name, base_minor, floor_minor,"
                    " ceiling_minor, current_minor) values (:e, :s, 'T', :p, :p, :p, :p)"),
                    {"e": ev, "s": sec, "p": price})
        publish_event(c, actor, ev)
    return ev, seated, ga
