"""The monitor's charts, read from the sales history (``sales_history``) and the price
changes: sales per minute of a day against the same weekday a week before, occupancy of
each event over time, and the price path of a dynamically priced event. Figures only;
the monitor draws them (boxoffice_tui)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from core.reports.history import _CAPACITY
from core.reports.sales import _check_tz


@dataclass(frozen=True, slots=True)
class MinuteSales:
    """Orders sold per minute of ``day`` (venue time ``tz``), minute 0 at midnight:
    ``today`` up to the minute now is in (the whole day for a past day), ``last_week``
    the same weekday seven days before, the whole day."""

    day: date
    tz: str
    today: tuple[int, ...]
    last_week: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OccupancyLine:
    """One event's occupancy (% of its capacity) at the end of each hour it sold in."""

    code: str
    name: str
    capacity: int
    at: tuple[datetime, ...]
    percent: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PricedEvent:
    id: int
    code: str
    name: str
    changes: int


_PER_MINUTE = text(
    """
    select floor(extract(epoch from (at - :start)) / 60)::int as m,
           count(distinct order_id) as n
    from sales_history where kind = 'sale' and at >= :start and at < :end
    group by 1
    """
)
_NOW = text("select now()")


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tz)
    return start, datetime.combine(day + timedelta(days=1), time(), tz)


def minute_sales(engine: Engine, *, day: date | None = None, tz: str = "UTC") -> MinuteSales:
    """Sales per minute of ``day`` (None: today by the database clock) and of the same
    weekday last week, in ``tz``."""
    _check_tz(tz)
    zone = ZoneInfo(tz)
    with engine.connect() as conn:
        now = conn.execute(_NOW).scalar_one()
        if day is None:
            day = now.astimezone(zone).date()
        series = []
        for d in (day, day - timedelta(days=7)):
            start, end = _day_bounds(d, zone)
            minutes = int((end - start).total_seconds() // 60)  # 1380/1500 on DST days
            counts = [0] * minutes
            for m, n in conn.execute(_PER_MINUTE, {"start": start, "end": end}):
                if 0 <= m < minutes:
                    counts[m] = int(n)
            series.append(counts)
    start, end = _day_bounds(day, zone)
    if start <= now < end:  # today: the minutes still to come are not zero sales
        series[0] = series[0][: int((now - start).total_seconds() // 60) + 1]
    elif now < start:
        series[0] = []
    return MinuteSales(day, tz, tuple(series[0]), tuple(series[1]))


_CHARTED_EVENTS = text(
    """
    select e.id, e.code, e.name from events e
    join (select event_id, sum(units) as units from sales_history
          where at >= :since group by event_id) h on h.event_id = e.id
    where e.status not in ('canceled', 'draft') and e.starts_at >= :showing
    order by h.units desc, e.starts_at, e.code limit :n
    """
)


_HOURLY = text(
    """
    with b as (
      select date_trunc('hour', at at time zone :tz) as bucket,
             sum(case when kind = 'refund' then -units else units end) as units
      from sales_history where event_id = :e and at <= :until group by 1
    )
    select bucket at time zone :tz as hour,
           sum(units) over (order by bucket) as occupied
    from b order by bucket
    """
)


def occupancy_lines(engine: Engine, *, tz: str = "UTC", at: datetime | None = None,
                    events: int = 6) -> list[OccupancyLine]:
    """The ``events`` best-selling shows of today and later (as of ``at``, default now)
    that sold in the last 60 days, with their occupancy (sold less refunded, reversals
    included, as ``report occupancy`` counts it) at each hour they sold in, up to
    ``at``."""
    _check_tz(tz)
    with engine.connect() as conn:
        now = at if at is not None else conn.execute(_NOW).scalar_one()
        found = conn.execute(_CHARTED_EVENTS, {"since": now - timedelta(days=60),
                                               "showing": now - timedelta(hours=12),
                                               "n": events}).all()
        out = []
        for ev in found:
            cap = int(conn.execute(_CAPACITY, {"e": ev.id}).scalar_one())
            points = conn.execute(_HOURLY, {"e": ev.id, "until": now, "tz": tz}).all()
            if not points or not cap:
                continue
            out.append(OccupancyLine(
                ev.code, ev.name, cap, tuple(p.hour for p in points),
                tuple(round(100.0 * int(p.occupied) / cap, 1) for p in points)))
    return out


_PRICED = text(
    """
    select e.id, e.code, e.name, count(pc.id) as changes from events e
    join price_tiers pt on pt.event_id = e.id
    left join price_changes pc on pc.tier_id = pt.id
    where e.status not in ('canceled', 'draft')
    group by e.id, e.code, e.name, e.dynamic_pricing, e.starts_at
    having e.dynamic_pricing or count(pc.id) > 0
    order by count(pc.id) > 0 desc, e.starts_at, e.code
    """
)


def priced_events(engine: Engine) -> list[PricedEvent]:
    """Events priced dynamically (or whose prices changed), those with changes first."""
    with engine.connect() as conn:
        return [PricedEvent(int(r.id), r.code, r.name, int(r.changes))
                for r in conn.execute(_PRICED)]

