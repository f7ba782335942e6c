"""Look-ups and invariant checks for the offline tests (SQL in tests is fine)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.core.helpers import event_id, invariants, seats_of, section_id

__all__ = ["event_id", "lease_invariants", "seats_of", "section_id", "sold_per_seat"]


def lease_invariants(engine: Engine) -> list[str]:
    """The reservation model's invariants plus the lease ones."""
    checks = {
        "leased seat without an active lease of its own": """
            select es.seat_id from event_seats es left join leases l on l.id = es.lease_id
            where es.status = 'leased' and (l.id is null or l.status <> 'active'
              or not exists (select 1 from lease_seats ls where ls.lease_id = l.id
                             and ls.seat_id = es.seat_id))""",
        "GA leased count differs from active quotas": """
            select gi.section_id from ga_inventory gi where gi.leased <> coalesce((
              select sum(l.ga_quota - l.ga_sold) from leases l where l.status = 'active'
              and l.kind = 'ga' and l.event_id = gi.event_id
              and l.section_id = gi.section_id), 0)""",
        "offline sale applied twice": """
            select command_key from lease_sales group by command_key having count(*) > 1""",
    }
    problems = invariants(engine)
    with engine.connect() as c:
        for name, q in checks.items():
            rows = c.execute(text(q)).all()
            if rows:
                problems.append(f"{name}: {rows[:5]}")
    return problems


def sold_per_seat(engine: Engine, event: int) -> dict[int, int]:
    with engine.connect() as c:
        return {r[0]: r[1] for r in c.execute(text(
            "select seat_id, count(*) from order_lines where event_id = :e and seat_id is not"
            " null and status = 'sold' group by seat_id"), {"e": event})}
