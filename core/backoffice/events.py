"""Events: create from a room, clone for recurring shows, publish, pause/resume, close,
reschedule. (Cancelling, with its refunds, lives in ``core.backoffice.cancel``.)

Times a person types are wall-clock times in the venue's time zone; they are stored as
absolute instants. A weekly clone keeps the local wall-clock time across a daylight
saving change, and moves doors and the sales window with the show.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from core import audit
from core.actors import Actor
from core.app_context import CoreContext
from core.backoffice.common import event_row, finish, require, run
from core.catalog import publish_event as _publish_rows
from core.catalog import refresh_statistics
from core.errors import BoxOfficeError

# --- SQL --------------------------------------------------------------------------------

_ROOM = text("select id, code, timezone from venues where code = :c")
_ROOM_SECTIONS = text("select id, code, kind from sections where venue_id = :v"
                      " order by sort_order, id")
_CODE_TAKEN = text("select code from events where code = any(:codes)")
_INSERT_EVENT = text(
    """
    insert into events (code, venue_id, name, starts_at, doors_at, sales_start, sales_end,
                        status, currency, description, counter_hold_s, kiosk_hold_s, min_age,
                        dynamic_pricing, price_approval_over_pct, cloned_from)
    values (:code, :venue, :name, :starts, :doors, :ss, :se, 'draft', :cur, :descr, :chs, :khs,
            :age, :dyn, :pct, :src)
    returning id
    """
)
_INSERT_TIER = text(
    "insert into price_tiers (event_id, section_id, name, base_minor, floor_minor,"
    " ceiling_minor, current_minor) values (:e, :s, :n, :b, :lo, :hi, :b)"
)
_COPY_TIERS = text(
    "insert into price_tiers (event_id, section_id, name, base_minor, floor_minor,"
    " ceiling_minor, current_minor) select :new, section_id, name, base_minor, floor_minor,"
    " ceiling_minor, base_minor from price_tiers where event_id = :src"
)
# Rules that shape prices over time are copied; a manual override was for that night.
_COPY_RULES = text(
    "insert into pricing_rules (event_id, section_id, kind, params, active)"
    " select :new, section_id, kind, params, active from pricing_rules"
    " where event_id = :src and kind <> 'manual'"
)
_UNPRICED = text(
    "select s.code from sections s join events e on e.venue_id = s.venue_id"
    " where e.id = :e and not exists (select 1 from price_tiers pt where pt.event_id = e.id"
    " and pt.section_id = s.id) order by s.sort_order"
)
_SET_STATUS = text(
    "update events set status = :to where id = :e and status = any(:from) returning status"
).bindparams(bindparam("from", type_=ARRAY(String)))
_RESCHEDULE = text(
    "update events set starts_at = :starts, doors_at = :doors, sales_end = :se"
    " where id = :e"
)
_SELECT = """
    select e.id, e.code, e.name, v.code as room, e.starts_at, e.doors_at, e.sales_start,
           e.sales_end, e.status, e.currency, v.timezone, e.min_age, e.dynamic_pricing,
           coalesce((select count(*) from event_seats es where es.event_id = e.id), 0)
             + coalesce((select sum(capacity) from ga_inventory g where g.event_id = e.id), 0)
             as capacity,
           coalesce((select count(*) from event_seats es where es.event_id = e.id
                     and es.status = 'sold'), 0)
             + coalesce((select sum(sold) from ga_inventory g where g.event_id = e.id), 0)
             as sold,
           coalesce((select count(*) from event_seats es where es.event_id = e.id
                     and es.status = 'blocked'), 0) as blocked
    from events e join venues v on v.id = e.venue_id
"""
_LIST = text(_SELECT + """
    where (cast(:room as text) is null or v.code = :room)
      and (cast(:status as text) is null or e.status = :status)
    order by e.starts_at, e.id
""")
_ONE = text(_SELECT + " where e.id = :id")
_TIERS = text(
    "select s.code as section, s.name as section_name, s.kind, pt.id as tier_id,"
    " pt.base_minor, pt.floor_minor, pt.ceiling_minor, pt.current_minor"
    " from price_tiers pt join sections s on s.id = pt.section_id"
    " where pt.event_id = :e order by s.sort_order, s.id"
)


@dataclass(frozen=True, slots=True)
class TierSpec:
    section: str
    base_minor: int
    floor_minor: int | None = None
    ceiling_minor: int | None = None


@dataclass(frozen=True, slots=True)
class EventSpec:
    code: str
    name: str
    room: str
    starts_at: datetime  # naive: the venue's local time
    tiers: tuple[TierSpec, ...]
    doors_at: datetime | None = None  # default: 45 minutes before
    sales_start: datetime | None = None  # default: now
    sales_end: datetime | None = None  # default: 30 minutes after the start
    currency: str = "BRL"
    description: str = ""
    counter_hold_s: int | None = None
    kiosk_hold_s: int | None = None
    min_age: int | None = None
    dynamic_pricing: bool = True
    price_approval_over_pct: int = 20


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    code: str
    name: str
    room: str
    starts_at: datetime
    doors_at: datetime | None
    sales_start: datetime
    sales_end: datetime
    status: str
    currency: str
    timezone: str
    min_age: int | None
    dynamic_pricing: bool
    capacity: int
    sold: int
    blocked: int

    def local(self, ts: datetime | None) -> str:
        return ts.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M") if ts else ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("starts_at", "doors_at", "sales_start", "sales_end"):
            d[k] = d[k].isoformat() if d[k] else None
        d["starts_local"] = self.local(self.starts_at)
        return d


@dataclass(frozen=True, slots=True)
class TierRow:
    section: str
    section_name: str
    kind: str
    tier_id: int
    base_minor: int
    floor_minor: int
    ceiling_minor: int
    current_minor: int


@dataclass(frozen=True, slots=True)
class EventDetail:
    event: EventRow
    tiers: list[TierRow] = field(default_factory=list)


def to_utc(ts: datetime, tz: str) -> datetime:
    """A wall-clock time in the venue's zone (or an aware time, kept) as an instant."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=ZoneInfo(tz))


def _check_tiers(tiers: tuple[TierSpec, ...]) -> None:
    for t in tiers:
        lo = t.base_minor if t.floor_minor is None else t.floor_minor
        hi = t.base_minor if t.ceiling_minor is None else t.ceiling_minor
        for p in (t.base_minor, lo, hi):
            if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 10**10:
                raise BoxOfficeError("invalid_input", detail=f"price {p!r} of {t.section}")
            if p % 100:
                # The pricing job rounds to whole units: an odd price would drift.
                raise BoxOfficeError("price_not_whole", price=p)
        if not lo <= t.base_minor <= hi:
            raise BoxOfficeError("invalid_input", detail=f"{t.section}: floor {lo} <= base"
                                 f" {t.base_minor} <= ceiling {hi} does not hold")


def _check_spec(spec: EventSpec) -> None:
    if not spec.code or len(spec.code) > 40 or not spec.code.replace("-", "").replace(
            "_", "").isalnum():
        raise BoxOfficeError("invalid_input", detail="an event code is 1-40 letters, digits,"
                             " - or _")
    if not spec.name or len(spec.name) > 160:
        raise BoxOfficeError("invalid_input", detail="an event name is 1-160 characters")
    if len(spec.currency) != 3 or not spec.currency.isalpha():
        raise BoxOfficeError("invalid_input", detail="currency is a 3-letter ISO code")
    for what, v, lo, hi in (("counter hold", spec.counter_hold_s, 10, 7200),
                            ("kiosk hold", spec.kiosk_hold_s, 10, 7200),
                            ("age gate", spec.min_age, 0, 99),
                            ("approval threshold", spec.price_approval_over_pct, 0, 1000)):
        if v is not None and not lo <= v <= hi:
            raise BoxOfficeError("invalid_input", detail=f"{what} {v} is outside {lo}..{hi}")
    if not spec.tiers:
        raise BoxOfficeError("invalid_input", detail="give each section a price")
    _check_tiers(spec.tiers)


def create_event(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                 spec: EventSpec) -> EventRow:
    """A draft event in a room, with a price tier for every section of the room."""
    require(actor)
    _check_spec(spec)
    params = {k: (v.isoformat() if isinstance(v, datetime) else v)
              for k, v in asdict(spec).items()}

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        room = conn.execute(_ROOM, {"c": spec.room}).first()
        if room is None:
            raise BoxOfficeError("unknown_room", room=spec.room)
        if conn.execute(_CODE_TAKEN, {"codes": [spec.code]}).first():
            raise BoxOfficeError("event_exists", event_code=spec.code)
        tz = room.timezone
        starts = to_utc(spec.starts_at, tz)
        doors = to_utc(spec.doors_at, tz) if spec.doors_at else starts - timedelta(minutes=45)
        ss = to_utc(spec.sales_start, tz) if spec.sales_start else conn.execute(
            text("select date_trunc('minute', now())")).scalar_one()
        se = to_utc(spec.sales_end, tz) if spec.sales_end else starts + timedelta(minutes=30)
        if not doors <= starts:
            raise BoxOfficeError("invalid_input", detail="doors open after the show starts")
        if not ss < se:
            raise BoxOfficeError("invalid_input", detail="sales end before they start")
        sections = {r.code: r for r in conn.execute(_ROOM_SECTIONS, {"v": room.id})}
        unknown = [t.section for t in spec.tiers if t.section not in sections]
        if unknown:
            raise BoxOfficeError("unknown_section", section_id=", ".join(unknown))
        missing = [c for c in sections if c not in {t.section for t in spec.tiers}]
        if missing:
            raise BoxOfficeError("missing_price_tiers", sections=", ".join(missing))
        eid = conn.execute(_INSERT_EVENT, {
            "code": spec.code, "venue": room.id, "name": spec.name, "starts": starts,
            "doors": doors, "ss": ss, "se": se, "cur": spec.currency.upper(),
            "descr": spec.description, "chs": spec.counter_hold_s, "khs": spec.kiosk_hold_s,
            "age": spec.min_age, "dyn": spec.dynamic_pricing,
            "pct": spec.price_approval_over_pct, "src": None}).scalar_one()
        for t in spec.tiers:
            conn.execute(_INSERT_TIER, {
                "e": eid, "s": sections[t.section].id, "n": t.section, "b": t.base_minor,
                "lo": t.base_minor if t.floor_minor is None else t.floor_minor,
                "hi": t.base_minor if t.ceiling_minor is None else t.ceiling_minor})
        return finish(conn, actor, k, "event_create", "event", eid,
                      {"code": spec.code, "room": spec.room, "starts_at": starts.isoformat(),
                       "tiers": [asdict(t) for t in spec.tiers]}, {"event_id": eid})

    eid = run(ctx, actor, key, "event_create", params, body)["event_id"]
    return get_event(ctx.engine, eid).event


def clone_event(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, source: str | int, *,
                count: int = 12, every_days: int = 7,
                code_format: str = "{code}-{date:%Y%m%d}",
                publish: bool = False) -> list[EventRow]:
    """``count`` copies of an event, ``every_days`` apart (same local wall-clock time),
    with its prices, rules and settings, in one transaction: all are created or none.
    Codes come from ``code_format`` ({code}: the source's code, {date}: the local date,
    {n}: 1..count)."""
    require(actor)
    if not 1 <= count <= 366 or not 1 <= every_days <= 366:
        raise BoxOfficeError("invalid_input", detail="count and every_days are 1..366")

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        src = event_row(conn, source)
        tz = ZoneInfo(src["timezone"])
        local = src["starts_at"].astimezone(tz)
        made: list[tuple[str, datetime, timedelta]] = []
        for n in range(1, count + 1):
            starts = (local.replace(tzinfo=None) + timedelta(days=every_days * n)
                      ).replace(tzinfo=tz)
            try:
                code = code_format.format(code=src["code"], date=starts, n=n)
            except (KeyError, ValueError, IndexError) as exc:
                raise BoxOfficeError("invalid_input", detail=f"code format: {exc}") from None
            made.append((code, starts, starts - src["starts_at"]))
        codes = [c for c, *_ in made]
        if len(set(codes)) != len(codes):
            raise BoxOfficeError("invalid_input", detail="the code format gives two clones"
                                 " the same code; add {n} or {date}")
        taken = [r[0] for r in conn.execute(_CODE_TAKEN, {"codes": codes})]
        if taken:
            raise BoxOfficeError("event_exists", event_code=", ".join(taken))
        ids = []
        for code, starts, delta in made:
            eid = conn.execute(_INSERT_EVENT, {
                "code": code, "venue": src["venue_id"], "name": src["name"], "starts": starts,
                "doors": src["doors_at"] + delta if src["doors_at"] else None,
                "ss": src["sales_start"], "se": src["sales_end"] + delta,
                "cur": src["currency"], "descr": src["description"],
                "chs": src["counter_hold_s"], "khs": src["kiosk_hold_s"],
                "age": src["min_age"], "dyn": src["dynamic_pricing"],
                "pct": src["price_approval_over_pct"], "src": src["id"]}).scalar_one()
            conn.execute(_COPY_TIERS, {"new": eid, "src": src["id"]})
            conn.execute(_COPY_RULES, {"new": eid, "src": src["id"]})
            if publish:
                _publish_rows(conn, actor, eid, analyze=False)
            ids.append(eid)
        if publish:
            refresh_statistics(conn)
        return finish(conn, actor, k, "event_clone", "event", src["id"],
                      {"codes": codes, "every_days": every_days, "published": publish},
                      {"event_ids": ids})

    ids = run(ctx, actor, key, "event_clone",
              {"source": str(source), "count": count, "every_days": every_days,
               "code_format": code_format, "publish": publish}, body)["event_ids"]
    return [get_event(ctx.engine, i).event for i in ids]


def publish(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int) -> EventRow:
    """Create the event's seats and GA counters and put it on sale; the seat table's
    statistics are refreshed so the first picks do not sort whole sections."""
    require(actor)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=True)
        if ev["status"] != "draft":
            raise BoxOfficeError("event_state", event=ev["code"], status=ev["status"],
                                 action="publish")
        missing = [r[0] for r in conn.execute(_UNPRICED, {"e": ev["id"]})]
        if missing:
            raise BoxOfficeError("missing_price_tiers", sections=", ".join(missing))
        rows = _publish_rows(conn, actor, ev["id"])
        return finish(conn, actor, k, "event_publish", "event", ev["id"],
                      {"code": ev["code"], "places": rows}, {"event_id": ev["id"]})

    eid = run(ctx, actor, key, "event_publish", {"event": str(event)}, body)["event_id"]
    return get_event(ctx.engine, eid).event


_TRANSITIONS = {"pause": (("on_sale",), "paused"), "resume": (("paused",), "on_sale"),
                "close": (("on_sale", "paused"), "closed")}
# The outbox message each transition writes (core.outbox, docs/integration.md).
_ANNOUNCED = {"pause": "event.paused", "resume": "event.resumed", "close": "event.closed"}


def set_sales(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
              action: str) -> EventRow:
    """pause, resume or close sales (one conditional UPDATE: two supervisors pausing at
    once both succeed or the second is told the event's state)."""
    require(actor)
    if action not in _TRANSITIONS:
        raise BoxOfficeError("invalid_input", detail=f"action {action!r}")
    allowed, to = _TRANSITIONS[action]

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event)
        done = conn.execute(_SET_STATUS, {"to": to, "e": ev["id"],
                                          "from": list(allowed)}).first()
        if done is None:
            now = event_row(conn, ev["id"])["status"]
            raise BoxOfficeError("event_state", event=ev["code"], status=now, action=action)
        from core.outbox import events as outbox_events

        outbox_events.event_changed(conn, actor, _ANNOUNCED[action], event_id=ev["id"],
                                    code=ev["code"], status=to)
        return finish(conn, actor, k, "event_status", "event", ev["id"],
                      {"status": to, "action": action}, {"event_id": ev["id"]})

    eid = run(ctx, actor, key, f"event_{action}", {"event": str(event)}, body)["event_id"]
    from core.app_context import SeatChange

    ctx.publish(SeatChange(eid, "status"))
    return get_event(ctx.engine, eid).event


def reschedule(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
               starts_at: datetime, *, doors_at: datetime | None = None) -> EventRow:
    """Move the show. Tickets keep their serials and tokens (which name the event, not
    its time), so the gate and reprints see the new time at once. Doors and the end of
    sales keep their distance to the start unless given."""
    require(actor)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=True)
        if ev["status"] in ("canceled", "closed"):
            raise BoxOfficeError("event_state", event=ev["code"], status=ev["status"],
                                 action="reschedule")
        starts = to_utc(starts_at, ev["timezone"])
        delta = starts - ev["starts_at"]
        doors = to_utc(doors_at, ev["timezone"]) if doors_at else (
            ev["doors_at"] + delta if ev["doors_at"] else None)
        if doors is not None and doors > starts:
            raise BoxOfficeError("invalid_input", detail="doors open after the show starts")
        se = ev["sales_end"] + delta
        if se <= ev["sales_start"]:
            raise BoxOfficeError("invalid_input", detail="sales would end before they start")
        conn.execute(_RESCHEDULE, {"starts": starts, "doors": doors, "se": se, "e": ev["id"]})
        from core.outbox import events as outbox_events

        outbox_events.event_changed(conn, actor, "event.rescheduled", event_id=ev["id"],
                                    code=ev["code"], previous_starts_at=ev["starts_at"],
                                    starts_at=starts, doors_at=doors)
        return finish(conn, actor, k, "event_reschedule", "event", ev["id"],
                      {"from": ev["starts_at"].isoformat(), "to": starts.isoformat(),
                       "doors": doors.isoformat() if doors else None},
                      {"event_id": ev["id"]})

    eid = run(ctx, actor, key, "event_reschedule",
              {"event": str(event), "starts_at": starts_at.isoformat(),
               "doors_at": doors_at.isoformat() if doors_at else None}, body)["event_id"]
    return get_event(ctx.engine, eid).event


def set_dynamic_pricing(conn: Connection, actor: Actor, event_id: int, enabled: bool) -> int:
    """Switch the event's automatic rules (occupancy, last minute) off or back on, inside
    the caller's transaction; a manual override stays. Returns the rules touched."""
    n = conn.execute(text(
        "update pricing_rules set active = :on where event_id = :e and kind <> 'manual'"),
        {"on": enabled, "e": event_id}).rowcount
    conn.execute(text("update events set dynamic_pricing = :on where id = :e"),
                 {"on": enabled, "e": event_id})
    audit.append(conn, actor, "dynamic_pricing", "event", event_id,
                 {"enabled": enabled, "rules": n})
    return int(n)


def list_events(engine: Engine, *, room: str | None = None,
                status: str | None = None) -> list[EventRow]:
    with engine.connect() as conn:
        return [EventRow(**r) for r in conn.execute(
            _LIST, {"room": room, "status": status}).mappings()]


def get_event(engine: Engine, event: str | int) -> EventDetail:
    with engine.connect() as conn:
        ev = event_row(conn, event)
        row = EventRow(**conn.execute(_ONE, {"id": ev["id"]}).mappings().one())
        tiers = [TierRow(**r) for r in conn.execute(_TIERS, {"e": ev["id"]}).mappings()]
    return EventDetail(row, tiers)


def dumps(rows: list[Any]) -> str:
    return json.dumps([r.to_json() if hasattr(r, "to_json") else r for r in rows],
                      ensure_ascii=False, default=str)
