"""An event's occupancy over time and its price path."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from core.errors import BoxOfficeError


@dataclass(frozen=True, slots=True)
class OccupancyPoint:
    bucket: str
    sold: int
    returned: int
    occupied: int
    capacity: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.occupied / self.capacity, 1) if self.capacity else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "percent": self.percent}


_CAPACITY = text(
    "select (select count(*) from event_seats where event_id = :e)"
    " + coalesce((select sum(capacity) from ga_inventory where event_id = :e), 0)"
)
_OCCUPANCY = text(
    """
    with moves as (
      select at, case when kind = 'refund' then 0 else units end as sold,
             case when kind = 'refund' then units else 0 end as returned
      from sales_history where event_id = :e
    ), b as (
      select date_trunc(:unit, at at time zone :tz) as bucket, sum(sold) as sold,
             sum(returned) as returned
      from moves group by 1
    )
    select to_char(bucket, 'YYYY-MM-DD HH24:MI') as bucket, sold, returned,
           sum(sold - returned) over (order by bucket) as occupied
    from b order by b.bucket
    """
)


def _event_id(engine: Engine, event: str | int) -> int:
    with engine.connect() as conn:
        eid = conn.execute(text("select id from events where code = :c or id::text = :c"),
                           {"c": str(event).strip()}).scalar()
    if eid is None:
        raise BoxOfficeError("unknown_event", event_id=event)
    return int(eid)


def occupancy(engine: Engine, event: str | int, *, by: str = "hour",
              tz: str = "UTC") -> list[OccupancyPoint]:
    """Places sold and returned per hour (or day), and the running occupancy."""
    if by not in ("hour", "day"):
        raise BoxOfficeError("invalid_input", detail="--by is hour or day")
    eid = _event_id(engine, event)
    with engine.connect() as conn:
        cap = int(conn.execute(_CAPACITY, {"e": eid}).scalar_one())
        rows = conn.execute(_OCCUPANCY, {"e": eid, "unit": by, "tz": tz}).all()
    return [OccupancyPoint(r.bucket, int(r.sold), int(r.returned), int(r.occupied), cap)
            for r in rows]


@dataclass(frozen=True, slots=True)
class PricePoint:
    at: datetime
    section: str
    tier_id: int
    old_minor: int
    new_minor: int
    currency: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


_PRICES = text(
    """
    select pc.at, s.code as section, pc.tier_id, pc.old_minor, pc.new_minor, e.currency,
           pc.reason
    from price_changes pc join price_tiers pt on pt.id = pc.tier_id
    join sections s on s.id = pt.section_id join events e on e.id = pt.event_id
    where pt.event_id = :e order by pc.at, pc.id
    """
)


def price_path(engine: Engine, event: str | int) -> list[PricePoint]:
    """Every price change of the event's tiers, oldest first."""
    eid = _event_id(engine, event)
    with engine.connect() as conn:
        return [PricePoint(r.at, r.section, int(r.tier_id), int(r.old_minor),
                           int(r.new_minor), r.currency, r.reason)
                for r in conn.execute(_PRICES, {"e": eid})]


_PARTITIONS = text("select bo_history_partitions(:ahead)")


class PartitionJob:
    """The worker's job: the sales history's monthly partitions exist three months
    ahead (checked once an hour; the database function is idempotent)."""

    def __init__(self, every_s: float = 3600.0, ahead: int = 3) -> None:
        self.every_s = every_s
        self.ahead = ahead
        self._last = float("-inf")

    def __call__(self, ctx: Any) -> int:
        import time

        now = time.monotonic()
        if now - self._last < self.every_s:
            return 0
        with ctx.engine.begin() as conn:
            conn.execute(_PARTITIONS, {"ahead": self.ahead})
        self._last = now
        return 1
