"""Sales by a dimension over a period, to the cent of the orders table, read from the
append-only ``sales_history`` (migration 0010: written by the database itself with every
order line, reversal and refund; partitioned by month, so a period reads only its
months).

A sale counts when its order was confirmed (``orders.created_at``); a card sale undone
after confirmation (order canceled) is taken off when it was undone. Its amount is its
lines' price x quantity, which is the order's total. A refund counts when it was
recorded, for the lines it returned. ``net`` subtracts refunds made in the period,
grouped the same way (a refund's own terminal, operator and tender)."""

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
  select h.kind, h.order_id, h.at, h.event_id, h.section_id, h.terminal_id, h.operator_id,
         h.tender, h.currency, h.amount_minor as amount, h.units
  from sales_history h
  where h.at >= :start and h.at < :end and (h.kind <> 'refund' or :net)
), g as (
  select {key} as k, x.currency,
         count(distinct x.order_id) filter (where x.kind = 'sale')
           - count(distinct x.order_id) filter (where x.kind = 'reversal') as orders,
         coalesce(sum(x.units) filter (where x.kind <> 'refund'), 0) as units,
         coalesce(sum(x.amount) filter (where x.kind <> 'refund'), 0) as gross,
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
