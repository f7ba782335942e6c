"""Read models for seat maps and event lists: compact, never thousands of ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from core.errors import BoxOfficeError
from core.reservation import inputs, sql
from core.reservation.results import Availability, GaCount


def availability(engine: Engine, event_id: int) -> Availability:
    event_id = inputs.event_id(event_id)
    with engine.connect() as conn:
        row = conn.execute(sql.AVAILABILITY, {"event_id": event_id}).one()
        ga = tuple(GaCount(r.section_id, r.capacity, r.held, r.sold, r.leased)
                   for r in conn.execute(sql.GA_COUNTS, {"event_id": event_id}))
        if not row.seat_ids and not ga and \
                conn.execute(sql.EVENT_STATE, {"event_id": event_id}).first() is None:
            raise BoxOfficeError("unknown_event", event_id=event_id)
    return Availability(event_id, tuple(row.seat_ids), row.states, ga, row.as_of,
                        row.next_expiry)


@dataclass(frozen=True, slots=True)
class SeatInfo:
    seat_id: int
    section_id: int
    section_code: str
    row_label: str
    number: int
    x: int
    y: int
    accessible: bool
    companion: bool
    obstructed: bool


@dataclass(frozen=True, slots=True)
class SectionInfo:
    id: int
    code: str
    name: str
    kind: str
    capacity: int
    tier_id: int | None
    price_minor: int | None


@dataclass(frozen=True, slots=True)
class EventInfo:
    id: int
    code: str
    name: str
    venue: str
    starts_at: datetime
    doors_at: datetime | None
    status: str
    currency: str
    capacity: int
    available: int
    held: int
    sold: int
    min_price_minor: int | None
    max_price_minor: int | None
    # The venue's IANA time zone: show times as the tickets print them.
    timezone: str = "UTC"
    # Set by the back office per event (None: the terminal's settings decide): the age a
    # buyer must confirm, and how long a kiosk's hold lasts.
    min_age: int | None = None
    kiosk_hold_s: int | None = None


_LAYOUT = text(
    """
    select s.id, s.section_id, sec.code, s.row_label, s.number, s.x, s.y, s.accessible,
           s.companion, s.obstructed
    from event_seats es join seats s on s.id = es.seat_id join sections sec on sec.id = s.section_id
    where es.event_id = :event_id order by s.id
    """
)
_SECTIONS = text(
    """
    select sec.id, sec.code, sec.name, sec.kind, sec.capacity, pt.id as tier_id,
           pt.current_minor
    from events e join sections sec on sec.venue_id = e.venue_id
    left join price_tiers pt on pt.event_id = e.id and pt.section_id = sec.id
    where e.id = :event_id order by sec.sort_order, sec.id
    """
)
_EVENTS = text(
    """
    select e.id, e.code, e.name, v.name as venue, e.starts_at, e.doors_at, e.status, e.currency,
      coalesce(s.total, 0) + coalesce(g.capacity, 0) as capacity,
      coalesce(s.free, 0) + coalesce(g.capacity - g.held - g.sold - g.leased, 0) as available,
      coalesce(s.held, 0) + coalesce(g.held, 0) as held,
      coalesce(s.sold, 0) + coalesce(g.sold, 0) as sold,
      p.lo, p.hi, v.timezone, e.min_age, e.kiosk_hold_s
    from events e join venues v on v.id = e.venue_id
    left join lateral (
      select count(*) as total,
        count(*) filter (where status = 'available'
                         or (status = 'held' and hold_expires_at <= now())) as free,
        count(*) filter (where status = 'held' and hold_expires_at > now()) as held,
        count(*) filter (where status = 'sold') as sold
      from event_seats where event_id = e.id) s on true
    left join lateral (
      select sum(capacity) as capacity, sum(held) as held, sum(sold) as sold,
             sum(leased) as leased
      from ga_inventory where event_id = e.id) g on true
    left join lateral (
      select min(current_minor) as lo, max(current_minor) as hi
      from price_tiers where event_id = e.id) p on true
    where e.status in ('on_sale', 'paused') and e.starts_at > now() - interval '6 hours'
    order by e.starts_at, e.id
    """
)


def seat_layout(engine: Engine, event_id: int) -> list[SeatInfo]:
    event_id = inputs.event_id(event_id)
    with engine.connect() as conn:
        return [SeatInfo(*r) for r in conn.execute(_LAYOUT, {"event_id": event_id})]


def sections(engine: Engine, event_id: int) -> list[SectionInfo]:
    event_id = inputs.event_id(event_id)
    with engine.connect() as conn:
        return [SectionInfo(*r) for r in conn.execute(_SECTIONS, {"event_id": event_id})]


def upcoming_events(engine: Engine) -> list[EventInfo]:
    with engine.connect() as conn:
        return [EventInfo(*r) for r in conn.execute(_EVENTS)]
