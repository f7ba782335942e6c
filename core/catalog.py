"""Rooms and events: publishing creates the lockable rows (event_seats, ga_inventory)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from core import audit
from core.actors import Actor
from core.errors import BoxOfficeError

_PUBLISH_SEATS = text(
    """
    insert into event_seats (event_id, seat_id, section_id, row_label, seat_number, quality_rank,
                             status, version)
    select e.id, s.id, s.section_id, s.row_label, s.number, s.quality_rank, 'available', 0
    from events e join sections sec on sec.venue_id = e.venue_id and sec.kind = 'seated'
    join seats s on s.section_id = sec.id
    where e.id = :event_id
    on conflict do nothing
    """
)
_PUBLISH_GA = text(
    """
    insert into ga_inventory (event_id, section_id, capacity, held, sold, leased, version)
    select e.id, sec.id, sec.capacity, 0, 0, 0, 0
    from events e join sections sec on sec.venue_id = e.venue_id and sec.kind = 'ga'
    where e.id = :event_id
    on conflict do nothing
    """
)
STATUSES = ("draft", "on_sale", "paused", "closed", "canceled")


def publish_event(conn: Connection, actor: Actor, event_id: int, *,
                  analyze: bool = True) -> int:
    """Create one row per seat (and per GA section) for the event and put it on sale."""
    n = conn.execute(_PUBLISH_SEATS, {"event_id": event_id}).rowcount
    n += conn.execute(_PUBLISH_GA, {"event_id": event_id}).rowcount
    set_event_status(conn, actor, event_id, "on_sale")
    if analyze:
        refresh_statistics(conn)
    return n


def refresh_statistics(conn: Connection) -> None:
    """Re-read the seat table's statistics. Before autovacuum gets to a freshly published
    event, the planner guessed a handful of rows and sorted the whole section for every
    best-available pick (1.3 ms) instead of walking the ordered index (0.2 ms): exactly
    at the on-sale rush. Publishing is rare; this takes ~0.1 s on half a million seats."""
    # A definer function (0016): ANALYZE needs the table's owner, and an admin login
    # publishes.
    conn.execute(text("select bo_refresh_inventory_statistics()"))


def set_event_status(conn: Connection, actor: Actor, event_id: int, status: str) -> None:
    if status not in STATUSES:
        raise BoxOfficeError("invalid_input", detail=f"unknown event status {status!r}")
    updated = conn.execute(text("update events set status = :s where id = :e"),
                           {"s": status, "e": event_id}).rowcount
    if not updated:
        raise BoxOfficeError("unknown_event", event_id=event_id)
    audit.append(conn, actor, "event_status", "event", event_id, {"status": status})
