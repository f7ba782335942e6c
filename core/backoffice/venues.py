"""Rooms and their seat maps: import (new rooms, or safe changes to rooms in use), export,
list, and a plain-text drawing of a room as the seat map shows it.

A re-import never moves or removes a seat an event has sold, held or leased: such
changes are "unsafe". By default an import with any unsafe change writes nothing and
names them; ``safe_only`` applies the safe ones and reports the others as skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Engine, Integer, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from core.actors import Actor
from core.app_context import CoreContext
from core.backoffice.common import finish, require, run
from core.backoffice.venue_format import (
    Problem,
    RoomSpec,
    SeatSpec,
    SectionSpec,
    VenueFileError,
)
from core.errors import BoxOfficeError

# --- SQL (kept together: the import is one definer function later) ---------------------

_LOCK_ROOM = text("select id, code, name, timezone, stage_label from venues where code = :c"
                  " for update")
_INSERT_ROOM = text("insert into venues (code, name, timezone, stage_label)"
                    " values (:c, :n, :tz, :st) returning id")
_UPDATE_ROOM = text("update venues set name = :n, timezone = :tz, stage_label = :st"
                    " where id = :id")
_SECTIONS = text("select id, code, name, kind, capacity, sort_order from sections"
                 " where venue_id = :v order by sort_order, id")
_INSERT_SECTION = text("insert into sections (venue_id, code, name, kind, capacity, sort_order)"
                       " values (:v, :c, :n, :k, :cap, :o) returning id")
_UPDATE_SECTION = text("update sections set name = :n, capacity = :cap, sort_order = :o"
                       " where id = :id")
_DELETE_SECTION = text("delete from sections where id = :id")
# Every seat of the room with how events use it: any event row at all (it cannot be
# deleted then) and taken (sold, held or leased in an event that is not canceled).
_SEATS_IN_USE = text(
    """
    select s.id, sec.code as section, s.row_label, s.number, s.x, s.y, s.accessible,
           s.companion, s.obstructed, s.quality_rank,
           exists (select 1 from event_seats es where es.seat_id = s.id) as in_event,
           exists (select 1 from event_seats es join events e on e.id = es.event_id
                   where es.seat_id = s.id and e.status <> 'canceled'
                     and es.status in ('sold', 'held', 'leased')) as taken
    from seats s join sections sec on sec.id = s.section_id
    where sec.venue_id = :v order by s.id
    """
)
_INSERT_SEATS = text(
    """
    insert into seats (section_id, row_label, number, x, y, accessible, companion, obstructed,
                       quality_rank)
    select * from unnest(:sec, :row, :num, :x, :y, :acc, :comp, :obs, :rank)
    returning id, section_id
    """
).bindparams(bindparam("sec", type_=ARRAY(Integer)), bindparam("row", type_=ARRAY(String)),
             bindparam("num", type_=ARRAY(Integer)), bindparam("x", type_=ARRAY(Integer)),
             bindparam("y", type_=ARRAY(Integer)), bindparam("acc", type_=ARRAY(Boolean)),
             bindparam("comp", type_=ARRAY(Boolean)), bindparam("obs", type_=ARRAY(Boolean)),
             bindparam("rank", type_=ARRAY(Integer)))
_UPDATE_SEAT = text("update seats set x = :x, y = :y, accessible = :acc, companion = :comp,"
                    " obstructed = :obs, quality_rank = :rank where id = :id")
_UPDATE_EVENT_RANK = text("update event_seats set quality_rank = :rank where seat_id = :id"
                          " and quality_rank <> :rank")
_DELETE_SEATS = text("delete from seats where id = any(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)))
# New seats of a room join its events that can still sell.
_ADD_TO_EVENTS = text(
    """
    insert into event_seats (event_id, seat_id, section_id, row_label, seat_number,
                             quality_rank, status, version)
    select e.id, s.id, s.section_id, s.row_label, s.number, s.quality_rank, 'available', 0
    from seats s join sections sec on sec.id = s.section_id
    join events e on e.venue_id = sec.venue_id
      and e.status in ('on_sale', 'paused')
    where s.id = any(:ids)
    on conflict do nothing
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_EVENTS_OF_ROOM = text("select count(*) from events where venue_id = :v"
                       " and status <> 'canceled'")
_TIERS_OF_SECTION = text("select count(*) from price_tiers where section_id = :s")
_ROOMS = text(
    """
    select v.code, v.name, v.timezone, v.stage_label as stage,
           (select count(*) from sections s where s.venue_id = v.id) as sections,
           (select coalesce(sum(s.capacity), 0) from sections s where s.venue_id = v.id)
             as capacity,
           (select count(*) from events e where e.venue_id = v.id
              and e.status in ('on_sale', 'paused')) as events_on_sale
    from venues v order by v.code
    """
)


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # add_room, update_room, add_section, update_section, remove_section,
    #            add_seats, update_seat, move_seat, remove_seat
    target: str
    safe: bool = True
    why: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" + (f" ({self.why})" if self.why else "")


@dataclass(slots=True)
class RoomImport:
    room: str
    created: bool
    applied: list[Change] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    seats: int = 0
    ga_capacity: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"room": self.room, "created": self.created, "seats": self.seats,
                "ga_capacity": self.ga_capacity,
                "applied": [asdict(c) for c in self.applied],
                "skipped": [asdict(c) for c in self.skipped]}


@dataclass(frozen=True, slots=True)
class RoomSummary:
    code: str
    name: str
    timezone: str
    stage: str
    sections: int
    capacity: int
    events_on_sale: int


def import_rooms(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, rooms: list[RoomSpec],
                 *, safe_only: bool = False, dry_run: bool = False) -> list[RoomImport]:
    """Create or update the rooms, all in one transaction: every room is written or none.
    ``dry_run`` computes the plan and writes nothing (and claims no key)."""
    require(actor)
    params = {"rooms": [_fingerprint(r) for r in rooms], "safe_only": safe_only}
    if dry_run:
        from core.uow import unit_of_work

        # A dry run lists the unsafe changes as skipped instead of refusing on the first.
        with unit_of_work(ctx.engine) as conn:
            out = [_import_room(conn, r, True) for r in rooms]
            conn.rollback()
        return out

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        reports = [_import_room(conn, r, safe_only) for r in rooms]
        result = {"rooms": [r.to_json() for r in reports]}
        return finish(conn, actor, k, "venue_import", "venue", ",".join(r.code for r in rooms),
                      {"rooms": [{"room": r.room, "created": r.created,
                                  "applied": len(r.applied), "skipped": len(r.skipped)}
                                 for r in reports]}, result)

    result = run(ctx, actor, key, "venue_import", params, body)
    return [_report_from_json(r) for r in result["rooms"]]


def _fingerprint(room: RoomSpec) -> str:
    """A digest of the room, so a repeated key with a different file is refused."""
    import hashlib

    from core.backoffice.venue_format import to_csv

    return hashlib.sha256(to_csv([room]).encode()).hexdigest()


def _report_from_json(d: dict[str, Any]) -> RoomImport:
    return RoomImport(d["room"], d["created"], [Change(**c) for c in d["applied"]],
                      [Change(**c) for c in d["skipped"]], d["seats"], d["ga_capacity"])


def _import_room(conn: Connection, room: RoomSpec, safe_only: bool) -> RoomImport:
    row = conn.execute(_LOCK_ROOM, {"c": room.code}).first()
    if row is None:
        return _create_room(conn, room)
    return _update_room(conn, row, room, safe_only)


def _create_room(conn: Connection, room: RoomSpec) -> RoomImport:
    vid = conn.execute(_INSERT_ROOM, {"c": room.code, "n": room.name, "tz": room.timezone,
                                      "st": room.stage}).scalar_one()
    seats: list[tuple[int, SeatSpec]] = []
    for order, sec in enumerate(room.sections):
        sid = conn.execute(_INSERT_SECTION, {"v": vid, "c": sec.code, "n": sec.name,
                                             "k": sec.kind, "cap": sec.total,
                                             "o": order}).scalar_one()
        seats.extend((sid, s) for s in sec.seats)
    _insert_seats(conn, seats)
    rep = RoomImport(room.code, True, [Change("add_room", room.code)])
    rep.seats = len(seats)
    rep.ga_capacity = sum(s.total for s in room.sections if s.kind == "ga")
    return rep


def _insert_seats(conn: Connection, seats: list[tuple[int, SeatSpec]]) -> list[int]:
    if not seats:
        return []
    rows = conn.execute(_INSERT_SEATS, {
        "sec": [sid for sid, _ in seats], "row": [s.row for _, s in seats],
        "num": [s.number for _, s in seats], "x": [s.x for _, s in seats],
        "y": [s.y for _, s in seats], "acc": [s.accessible for _, s in seats],
        "comp": [s.companion for _, s in seats], "obs": [s.obstructed for _, s in seats],
        "rank": [int(s.rank or 0) for _, s in seats]}).all()
    return [r.id for r in rows]


def _update_room(conn: Connection, vrow: Any, room: RoomSpec, safe_only: bool) -> RoomImport:
    rep = RoomImport(room.code, False)
    vid = vrow.id
    live_events = conn.execute(_EVENTS_OF_ROOM, {"v": vid}).scalar_one()
    plan: list[tuple[Change, Any]] = []  # (change, action to run if applied)
    if (vrow.name, vrow.timezone, vrow.stage_label) != (room.name, room.timezone, room.stage):
        why = "event times are shown in the new time zone" \
            if vrow.timezone != room.timezone and live_events else ""
        plan.append((Change("update_room", room.code, True, why),
                     lambda: conn.execute(_UPDATE_ROOM, {"n": room.name, "tz": room.timezone,
                                                         "st": room.stage, "id": vid})))
    existing = {r.code: r for r in conn.execute(_SECTIONS, {"v": vid})}
    seats = {(r.section, r.row_label, r.number): r
             for r in conn.execute(_SEATS_IN_USE, {"v": vid})}
    wanted_sections = {s.code for s in room.sections}
    section_ids: dict[str, int] = {c: r.id for c, r in existing.items()}
    new_seats: list[tuple[str, SeatSpec]] = []
    kind_changed: set[str] = set()
    for order, sec in enumerate(room.sections):
        old = existing.get(sec.code)
        if old is None:
            plan.append((Change("add_section", sec.code), _adder(conn, vid, sec, order,
                                                                 section_ids)))
            new_seats.extend((sec.code, s) for s in sec.seats)
            continue
        if old.kind != sec.kind:
            kind_changed.add(sec.code)
            own = [r for r in seats.values() if r.section == sec.code]
            safe = not live_events and not any(r.in_event for r in own)
            plan.append((Change("change_section_kind", sec.code, safe,
                                "" if safe else "events use this room"),
                         _kind_changer(conn, old.id, sec, order, [r.id for r in own])))
            if safe:
                new_seats.extend((sec.code, s) for s in sec.seats)
            continue
        if (old.name, old.capacity, old.sort_order) != (sec.name, sec.total, order):
            why = "GA capacity applies to events created from now on" \
                if sec.kind == "ga" and old.capacity != sec.total and live_events else ""
            plan.append((Change("update_section", sec.code, True, why),
                         _section_updater(conn, old.id, sec, order)))
        for s in sec.seats:
            cur = seats.get((sec.code, s.row, s.number))
            if cur is None:
                new_seats.append((sec.code, s))
            elif (cur.x, cur.y) != (s.x, s.y):
                safe = not cur.taken
                plan.append((Change("move_seat", f"{sec.code} {s.label}", safe,
                                    "" if safe else "sold, held or leased in an event"),
                             _seat_updater(conn, cur.id, s)))
            elif (cur.accessible, cur.companion, cur.obstructed, cur.quality_rank) != \
                    (s.accessible, s.companion, s.obstructed, s.rank):
                plan.append((Change("update_seat", f"{sec.code} {s.label}"),
                             _seat_updater(conn, cur.id, s)))
    listed = {(sc, s.row, s.number) for sec in room.sections for sc, s in
              ((sec.code, s) for s in sec.seats)}
    gone = [r for k, r in seats.items() if k not in listed]
    for r in gone:
        if r.section in kind_changed:
            continue
        if r.section not in wanted_sections and existing[r.section].kind == "seated":
            continue  # reported with its section
        safe = not r.in_event
        plan.append((Change("remove_seat", f"{r.section} {r.row_label}-{r.number}", safe,
                            "" if safe else "events have this seat"),
                     _seat_deleter(conn, r.id)))
    for code, old in existing.items():
        if code in wanted_sections:
            continue
        used = any(r.in_event for r in gone if r.section == code) or \
            conn.execute(_TIERS_OF_SECTION, {"s": old.id}).scalar_one() > 0
        plan.append((Change("remove_section", code, not used,
                            "events use this section" if used else ""),
                     _section_deleter(conn, old.id, [r.id for r in gone if r.section == code])))
    if new_seats:
        plan.append((Change("add_seats", f"{len(new_seats)} seat(s)", True,
                            "they join the events on sale" if live_events else ""),
                     lambda: _add_seats(conn, new_seats, section_ids)))
    unsafe = [c for c, _ in plan if not c.safe]
    if unsafe and not safe_only:
        raise BoxOfficeError("room_change_unsafe", room=room.code, count=len(unsafe),
                             first=str(unsafe[0]), changes=[str(c) for c in unsafe])
    _check_final_overlaps(room, seats, unsafe)
    # Removals first, so a seat moved onto a removed seat's spot finds it free.
    plan.sort(key=lambda p: p[0].kind not in ("remove_seat", "remove_section"))
    for change, action in plan:
        if change.safe:
            action()
            rep.applied.append(change)
        else:
            rep.skipped.append(change)
    rep.seats = sum(len(s.seats) for s in room.sections)
    rep.ga_capacity = sum(s.total for s in room.sections if s.kind == "ga")
    return rep


def _check_final_overlaps(room: RoomSpec, current: dict[tuple[str, str, int], Any],
                          unsafe: list[Change]) -> None:
    """With unsafe changes skipped, those seats stay where they are: make sure nothing
    then sits on top of something else."""
    if not unsafe:
        return
    kept_moves = {c.target for c in unsafe if c.kind == "move_seat"}
    kept = {c.target for c in unsafe if c.kind == "remove_seat"}
    kept_sections = {c.target for c in unsafe if c.kind in ("remove_section",
                                                            "change_section_kind")}
    spots: dict[tuple[int, int], str] = {}
    problems: list[Problem] = []

    def put(xy: tuple[int, int], name: str, where: str) -> None:
        if xy in spots:
            problems.append(Problem(where, f"with the unsafe changes skipped, {name} would"
                                    f" overlap {spots[xy]} at {xy}"))
        spots[xy] = name

    for (code, row, number), r in current.items():
        name = f"{code} {row}-{number}"
        if name in kept or code in kept_sections:
            put((r.x, r.y), name, room.where)
    for sec in room.sections:
        if sec.code in kept_sections:
            continue
        for s in sec.seats:
            name = f"{sec.code} {s.label}"
            cur = current.get((sec.code, s.row, s.number))
            put((cur.x, cur.y) if name in kept_moves and cur is not None else (s.x, s.y),
                name, s.where)
    if problems:
        raise VenueFileError(problems)


def _adder(conn: Connection, vid: int, sec: SectionSpec, order: int,
           ids: dict[str, int]) -> Any:
    def run_() -> None:
        ids[sec.code] = conn.execute(_INSERT_SECTION, {"v": vid, "c": sec.code, "n": sec.name,
                                                       "k": sec.kind, "cap": sec.total,
                                                       "o": order}).scalar_one()
    return run_


def _kind_changer(conn: Connection, sid: int, sec: SectionSpec, order: int,
                  old_seats: list[int]) -> Any:
    def run_() -> None:
        conn.execute(_DELETE_SEATS, {"ids": old_seats})
        conn.execute(text("update sections set kind = :k, name = :n, capacity = :cap,"
                          " sort_order = :o where id = :id"),
                     {"k": sec.kind, "n": sec.name, "cap": sec.total, "o": order, "id": sid})
    return run_


def _section_updater(conn: Connection, sid: int, sec: SectionSpec, order: int) -> Any:
    return lambda: conn.execute(_UPDATE_SECTION, {"n": sec.name, "cap": sec.total, "o": order,
                                                  "id": sid})


def _seat_updater(conn: Connection, seat_id: int, s: SeatSpec) -> Any:
    def run_() -> None:
        conn.execute(_UPDATE_SEAT, {"x": s.x, "y": s.y, "acc": s.accessible,
                                    "comp": s.companion, "obs": s.obstructed,
                                    "rank": s.rank, "id": seat_id})
        conn.execute(_UPDATE_EVENT_RANK, {"rank": s.rank, "id": seat_id})
    return run_


def _seat_deleter(conn: Connection, seat_id: int) -> Any:
    return lambda: conn.execute(_DELETE_SEATS, {"ids": [seat_id]})


def _section_deleter(conn: Connection, sid: int, seat_ids: list[int]) -> Any:
    def run_() -> None:
        conn.execute(_DELETE_SEATS, {"ids": seat_ids})
        conn.execute(_DELETE_SECTION, {"id": sid})
    return run_


def _add_seats(conn: Connection, new: list[tuple[str, SeatSpec]], ids: dict[str, int]) -> None:
    seat_ids = _insert_seats(conn, [(ids[code], s) for code, s in new])
    conn.execute(_ADD_TO_EVENTS, {"ids": seat_ids})
    conn.execute(text("update sections s set capacity = (select count(*) from seats"
                      " where section_id = s.id) where s.id = any(:ids) and s.kind = 'seated'"
                      ).bindparams(bindparam("ids", type_=ARRAY(Integer))),
                 {"ids": sorted({ids[c] for c, _ in new})})


# --- reading ---------------------------------------------------------------------------


def read_room(engine: Engine | Connection, code: str) -> RoomSpec:
    """The room as stored, in the import format's terms (what ``venue export`` writes)."""
    if isinstance(engine, Connection):
        return _read(engine, code)
    with engine.connect() as conn:
        return _read(conn, code)


def _read(conn: Connection, code: str) -> RoomSpec:
    v = conn.execute(text("select id, code, name, timezone, stage_label from venues"
                          " where code = :c"), {"c": code}).first()
    if v is None:
        raise BoxOfficeError("unknown_room", room=code)
    room = RoomSpec(v.code, v.name, v.timezone, v.stage_label)
    by_id: dict[int, SectionSpec] = {}
    for r in conn.execute(_SECTIONS, {"v": v.id}):
        sec = SectionSpec(r.code, r.name, r.kind, r.capacity if r.kind == "ga" else None)
        room.sections.append(sec)
        by_id[r.id] = sec
    for r in conn.execute(text(
            "select section_id, row_label, number, x, y, accessible, companion, obstructed,"
            " quality_rank from seats where section_id = any(:ids) order by id"
            ).bindparams(bindparam("ids", type_=ARRAY(Integer))), {"ids": list(by_id)}):
        by_id[r.section_id].seats.append(SeatSpec(r.row_label, r.number, r.x, r.y,
                                                  r.accessible, r.companion, r.obstructed,
                                                  r.quality_rank))
    return room


def list_rooms(engine: Engine) -> list[RoomSummary]:
    with engine.connect() as conn:
        return [RoomSummary(*r) for r in conn.execute(_ROOMS)]


# --- drawing ---------------------------------------------------------------------------

GLYPHS = {"available": "○", "accessible": "◇", "companion": "△", "obstructed": "◌",
          "held": "◍", "sold": "×", "blocked": "▪", "leased": "▫"}
LEGEND = ("○ seat  ◇ accessible  △ companion  ◌ obstructed view"
          "  | with --event: ◍ held  × sold  ▪ blocked  ▫ leased")


def draw(room: RoomSpec, states: dict[tuple[str, str, int], str] | None = None,
         max_width: int = 200) -> str:
    """The room in plain text, two columns per grid step with row labels on the left,
    the stage on top, as the counter's seat map lays it out; GA sections listed below."""
    from collections import Counter

    cells: dict[tuple[int, int], str] = {}
    rows_on: dict[int, Counter[str]] = {}
    for sec in room.sections:
        for s in sec.seats:
            state = (states or {}).get((sec.code, s.row, s.number), "available")
            glyph = GLYPHS.get(state, "?") if state != "available" else (
                GLYPHS["accessible"] if s.accessible else GLYPHS["companion"] if s.companion
                else GLYPHS["obstructed"] if s.obstructed else GLYPHS["available"])
            cells[(s.x, s.y)] = glyph
            rows_on.setdefault(s.y, Counter())[s.row] += 1
    lines: list[str] = []
    if cells:
        xs = [x for x, _ in cells]
        ys = [y for _, y in cells]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        width = min((x1 - x0 + 1) * 2, max_width)
        lines.append(" " * 5 + f" {room.stage} ".center(width, "▀"))
        lines.append("")
        for y in range(y0, y1 + 1):
            row = "".join(cells.get((x, y), " ") + " " for x in range(x0, x1 + 1))
            # On a curved row the ends share a line with the row in front: the label is
            # the row most of the line's seats belong to.
            label = rows_on[y].most_common(1)[0][0] if y in rows_on else ""
            lines.append((f"{label:>4} " + row.rstrip()[:max_width]).rstrip())
    for sec in room.sections:
        if sec.kind == "ga":
            lines.append(f"  {sec.code} {sec.name}: general admission, {sec.capacity} places")
    seated = sum(len(s.seats) for s in room.sections)
    lines.append("")
    lines.append(f"{room.code} {room.name} ({room.timezone}): {seated} seats in "
                 f"{sum(1 for s in room.sections if s.kind == 'seated')} seated section(s)")
    lines.append(LEGEND)
    return "\n".join(lines)


def event_states(engine: Engine, event_id: int) -> dict[tuple[str, str, int], str]:
    """Seat statuses of one event keyed like the room file (section, row, number)."""
    with engine.connect() as conn:
        return {(r.code, r.row_label, r.seat_number): (
            "available" if r.status == "held" and r.expired else r.status)
            for r in conn.execute(text(
                "select sec.code, es.row_label, es.seat_number, es.status,"
                " coalesce(es.hold_expires_at <= now(), false) as expired"
                " from event_seats es join sections sec on sec.id = es.section_id"
                " where es.event_id = :e"), {"e": event_id})}
