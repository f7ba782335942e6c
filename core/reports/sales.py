"""Sales by a dimension over a period, to the cent of the orders table.

A sale counts when its order was confirmed (``orders.created_at``) and not canceled (a
canceled order is a card sale undone before it completed); its amount is its lines'
price x quantity, which is the order's total. A refund counts when it was recorded
(``refunds.created_at``), for the lines it returned. ``net`` subtracts refunds made in
the period, grouped the same way (a refund's own terminal, operator and tender)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from core.errors import BoxOfficeError

BY = ("hour", "day", "event", "section", "tender", "terminal", "operator")

# The group key and its label, per dimension (chosen from this table, never from input).
_KEYS = {
    "hour": ("to_char(date_trunc('hour', x.at at time zone :tz), 'YYYY-MM-DD HH24:00')",
             "k"),
    "day": ("to_char(date_trunc('day', x.at at time zone :tz), 'YYYY-MM-DD')", "k"),
    "event": ("x.event_id::text",
              "(select e.code || ' ' || e.name from events e where e.id = k::int)"),
    "section": ("x.section_id::text",
                "(select v.code || '/' || s.code || ' ' || s.name from sections s"
                " join venues v on v.id = s.venue_id where s.id = k::int)"),
    "tender": ("x.tender", "k"),
    "terminal": ("x.terminal_id::text",
                 "(select t.name from terminals t where t.id = k::int)"),
    "operator": ("coalesce(x.operator_id::text, '-')",
                 "coalesce((select o.display_name from operators o"
                 " where o.id::text = k), '(kiosk / system)')"),
}

_ROWS = """
with x as (
  select 'sale' as kind, o.id as order_id, o.created_at as at, o.event_id, ol.section_id,
         o.terminal_id, o.operator_id,
         coalesce(pm.method, case when o.payment_ref like 'cash:%' then 'cash'
                                  when o.payment_ref = 'comp' then 'comp'
                                  else 'other' end) as tender,
         o.currency, ol.unit_price_minor * ol.qty as amount, ol.qty as units
  from orders o join order_lines ol on ol.order_id = o.id
  left join lateral (select p.method from payments p
                     where p.order_id = o.id and p.kind = 'charge'
                     order by p.id limit 1) pm on true
  where o.status <> 'canceled' and o.created_at >= :start and o.created_at < :end
  union all
  select 'refund', r.order_id, r.created_at, o.event_id, ol.section_id, r.terminal_id,
         r.operator_id, r.method, r.currency, ol.unit_price_minor * ol.qty, ol.qty
  from refunds r join orders o on o.id = r.order_id
  join order_lines ol on ol.id = any(r.line_ids)
  where :net and r.created_at >= :start and r.created_at < :end
), g as (
  select {key} as k, x.currency,
         count(distinct x.order_id) filter (where x.kind = 'sale') as orders,
         coalesce(sum(x.units) filter (where x.kind = 'sale'), 0) as units,
         coalesce(sum(x.amount) filter (where x.kind = 'sale'), 0) as gross,
         coalesce(sum(x.units) filter (where x.kind = 'refund'), 0) as units_back,
         coalesce(sum(x.amount) filter (where x.kind = 'refund'), 0) as refunds
  from x group by 1, 2
)
select k, {label} as label, currency, orders, units, gross, units_back, refunds
from g order by k, currency
"""


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    label: str
    currency: str
    orders: int
    units: int
    gross_minor: int
    units_refunded: int
    refunds_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunds_minor

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "net_minor": self.net_minor}


def sales_report(engine: Engine, start: datetime, end: datetime, by: str, *,
                 net: bool = False, tz: str = "UTC") -> list[ReportRow]:
    """Sales in [start, end) grouped ``by`` one of BY; hours and days in ``tz``."""
    if by not in _KEYS:
        raise BoxOfficeError("invalid_input", detail=f"--by is one of {', '.join(BY)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise BoxOfficeError("report_range_invalid", detail="times need a time zone")
    if end <= start:
        raise BoxOfficeError("report_range_invalid", detail="--to must be after --from")
    _check_tz(tz)
    key, label = _KEYS[by]
    sql = text(_ROWS.format(key=key, label=label))
    with engine.connect() as conn:
        rows = conn.execute(sql, {"start": start, "end": end, "net": net, "tz": tz}).all()
    return [ReportRow(r.k, r.label or r.k, r.currency, int(r.orders), int(r.units),
                      int(r.gross), int(r.units_back), int(r.refunds)) for r in rows]


def _check_tz(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BoxOfficeError("invalid_input", detail=f"unknown time zone {tz!r}") from exc


def default_tz(engine: Engine) -> str:
    """The venues' time zone (the most common one), else UTC."""
    with engine.connect() as conn:
        tz = conn.execute(text("select timezone from venues group by timezone"
                               " order by count(*) desc limit 1")).scalar()
    return str(tz or "UTC")
