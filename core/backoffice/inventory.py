"""Inventory control while an event sells: block seats (house, press, technical kills)
with a reason, unblock or release them to sale, change a GA section's capacity, and give
complimentary tickets.

Seat rows are taken in seat-id order, like every hold, so a block never deadlocks with
buyers; a GA capacity change is one conditional UPDATE that can never go below what is
held, sold and leased.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from core.actors import Actor
from core.app_context import CoreContext, SeatChange
from core.backoffice.common import event_row, finish, require, run, section_id
from core.errors import BoxOfficeError
from core.uow import after_commit

BLOCK_KINDS = ("house", "press", "technical", "other")
FREE = "(es.status = 'available' or (es.status = 'held' and es.hold_expires_at <= now()))"

# --- SQL --------------------------------------------------------------------------------

_BLOCK = text(
    f"""
    with l as (
      select es.seat_id from event_seats es
      where es.event_id = :e and es.seat_id = any(:ids) and {FREE}
      order by es.seat_id
      for update of es
    )
    update event_seats es set status = 'blocked', hold_id = null, hold_expires_at = null,
                              version = es.version + 1
    from l where es.event_id = :e and es.seat_id = l.seat_id
    returning es.seat_id
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_NOTE_BLOCKS = text(
    """
    insert into seat_blocks (event_id, seat_id, kind, reason, operator_id, terminal_id)
    select :e, unnest(:ids), :kind, :reason, :op, :t
    on conflict (event_id, seat_id) do update set kind = excluded.kind,
      reason = excluded.reason, operator_id = excluded.operator_id,
      terminal_id = excluded.terminal_id, at = now()
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_STATES = text(
    "select es.seat_id, es.status, es.hold_expires_at <= now() as expired"
    " from event_seats es where es.event_id = :e and es.seat_id = any(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_UNBLOCK = text(
    """
    with l as (
      select es.seat_id from event_seats es
      where es.event_id = :e and es.seat_id = any(:ids) and es.status = 'blocked'
      order by es.seat_id
      for update of es
    )
    update event_seats es set status = 'available', version = es.version + 1
    from l where es.event_id = :e and es.seat_id = l.seat_id
    returning es.seat_id
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_FORGET_BLOCKS = text(
    "delete from seat_blocks where event_id = :e and seat_id = any(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_BLOCKED_OF_KIND = text(
    "select es.seat_id from event_seats es left join seat_blocks b on b.event_id ="
    " es.event_id and b.seat_id = es.seat_id where es.event_id = :e and es.status = 'blocked'"
    " and (cast(:kind as text) is null or b.kind = :kind) order by es.seat_id"
)
_GA_CAPACITY = text(
    """
    update ga_inventory set capacity = :cap, version = version + 1
    where event_id = :e and section_id = :s and held + sold + leased <= :cap
    returning capacity, held, sold, leased
    """
)
_GA_ROW = text("select capacity, held, sold, leased from ga_inventory"
               " where event_id = :e and section_id = :s")
_SEAT_LABELS = text(
    """
    select s.id, sec.code as section, s.row_label, s.number from seats s
    join sections sec on sec.id = s.section_id join events e on e.venue_id = sec.venue_id
    where e.id = :e
    """
)
_BLOCKS = text(
    """
    select sec.code as section, es.row_label, es.seat_number, es.seat_id,
           coalesce(b.kind, 'other') as kind, coalesce(b.reason, '') as reason,
           o.login as operator, b.at
    from event_seats es join sections sec on sec.id = es.section_id
    left join seat_blocks b on b.event_id = es.event_id and b.seat_id = es.seat_id
    left join operators o on o.id = b.operator_id
    where es.event_id = :e and es.status = 'blocked'
    order by sec.sort_order, es.row_label, es.seat_number
    """
)
# A comp is a hold at price zero confirmed at once: the seats (free or blocked: house
# seats are what comps are usually made of) are taken in seat order.
_COMP_TAKE = text(
    f"""
    with l as (
      select es.seat_id from event_seats es
      where es.event_id = :e and es.seat_id = any(:ids)
        and ({FREE} or es.status = 'blocked')
      order by es.seat_id
      for update of es
    )
    update event_seats es set status = 'held', hold_id = :hold, version = es.version + 1,
                              hold_expires_at = now() + interval '1 minute'
    from l where es.event_id = :e and es.seat_id = l.seat_id
    returning es.seat_id, es.section_id
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
_COMP_GA = text(
    """
    update ga_inventory set held = held + :n, version = version + 1
    where event_id = :e and section_id = :s and held + sold + leased + :n <= capacity
    returning section_id
    """
)
_COMP_HOLD = text(
    "insert into holds (id, event_id, terminal_id, operator_id, channel, status, expires_at,"
    " extensions, total_minor, currency) values (:hold, :e, :t, :op, 'counter', 'active',"
    " now() + interval '1 minute', 0, 0, :cur)"
)
_COMP_ITEM = text(
    "insert into hold_items (hold_id, event_id, section_id, seat_id, qty, unit_price_minor,"
    " tier_id) select :hold, :e, :s, :seat, :n, 0, pt.id from price_tiers pt"
    " where pt.event_id = :e and pt.section_id = :s returning id"
)
_COMP_NOTE = text(
    "insert into comps (order_id, event_id, reason, recipient, operator_id, terminal_id)"
    " values (:o, :e, :reason, :who, :op, :t)"
)


@dataclass(frozen=True, slots=True)
class SeatsResult:
    event_id: int
    changed: tuple[int, ...]
    skipped: dict[str, list[int]]  # status -> seat ids left alone

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GaCapacity:
    event_id: int
    section_id: int
    capacity: int
    held: int
    sold: int
    leased: int


@dataclass(frozen=True, slots=True)
class BlockedSeat:
    section: str
    row: str
    number: int
    seat_id: int
    kind: str
    reason: str
    operator: str | None
    at: Any


@dataclass(frozen=True, slots=True)
class CompResult:
    order_id: uuid.UUID
    number: int
    event_id: int
    serials: tuple[int, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "order_id": str(self.order_id)}


def seat_ids_for(engine: Engine, event: str | int, labels: list[str]) -> list[int]:
    """Seat ids from labels ``SECTION:ROW-NUMBER`` (``ORQ:A-12``), ``SECTION:ROW`` for a
    whole row, or plain ids; unknown labels are named in one error."""
    with engine.connect() as conn:
        ev = event_row(conn, event)
        seats = conn.execute(_SEAT_LABELS, {"e": ev["id"]}).all()
    by_label = {(r.section, r.row_label, r.number): r.id for r in seats}
    out: list[int] = []
    bad: list[str] = []
    for label in labels:
        label = label.strip()
        if label.isdigit():
            out.append(int(label))
            continue
        sec, _, rest = label.partition(":")
        row, dash, num = rest.rpartition("-")
        if dash and num.isdigit() and (sec, row, int(num)) in by_label:
            out.append(by_label[(sec, row, int(num))])
            continue
        whole = [i for (s, r, _n), i in by_label.items() if s == sec and r == rest]
        if rest and not dash and whole:
            out.extend(sorted(whole))
            continue
        bad.append(label)
    if bad:
        raise BoxOfficeError("unknown_seat", seat_ids=", ".join(bad))
    return sorted(set(out))


def _skipped(conn: Connection, event_id: int, wanted: list[int],
             done: set[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    found = set()
    for r in conn.execute(_STATES, {"e": event_id, "ids": wanted}):
        found.add(r.seat_id)
        if r.seat_id not in done:
            state = "available" if r.status == "held" and r.expired else r.status
            out.setdefault(state, []).append(r.seat_id)
    missing = sorted(set(wanted) - found)
    if missing:
        raise BoxOfficeError("seat_not_in_event", seat_ids=missing)
    return out


def _ids(seat_ids: list[int]) -> list[int]:
    """Checked at the boundary (text that is no number, ids out of range: clear errors)."""
    from core.reservation import inputs

    ids = sorted(set(inputs.seat_ids(seat_ids)))
    if not ids:
        raise BoxOfficeError("invalid_input", detail="give at least one seat")
    return ids


def block_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                seat_ids: list[int], *, reason: str, kind: str = "house") -> SeatsResult:
    """Take free seats off sale (sold or held ones are left alone and listed)."""
    require(actor)
    ids = _ids(seat_ids)
    if kind not in BLOCK_KINDS:
        raise BoxOfficeError("invalid_input", detail=f"block kind is one of {BLOCK_KINDS}")
    if not reason.strip() or len(reason) > 200:
        raise BoxOfficeError("invalid_input", detail="a block needs a reason (200 characters"
                             " at most)")

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event)
        done = sorted(r[0] for r in conn.execute(_BLOCK, {"e": ev["id"], "ids": ids}))
        if done:
            conn.execute(_NOTE_BLOCKS, {"e": ev["id"], "ids": done, "kind": kind,
                                        "reason": reason.strip(), "op": actor.operator_id,
                                        "t": actor.terminal_id})
        res = SeatsResult(ev["id"], tuple(done), _skipped(conn, ev["id"], ids, set(done)))
        _publish(ctx, conn, ev["id"], "blocked", done)
        return finish(conn, actor, k, "seats_block", "event", ev["id"],
                      {"seats": done, "kind": kind, "reason": reason.strip(),
                       "skipped": res.skipped}, res.to_json())

    return _seats(run(ctx, actor, key, "seats_block",
                      {"event": str(event), "seats": ids, "kind": kind, "reason": reason},
                      body))


def unblock_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                  seat_ids: list[int] | None = None, *, kind: str | None = None,
                  reason: str = "released to sale") -> SeatsResult:
    """Put blocked seats back on sale: the given ones, or every blocked seat of ``kind``
    (``None``: all), e.g. the house seats on the day of the show."""
    require(actor)
    ids = _ids(seat_ids) if seat_ids else None

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event)
        wanted = ids if ids is not None else [
            r[0] for r in conn.execute(_BLOCKED_OF_KIND, {"e": ev["id"], "kind": kind})]
        done = sorted(r[0] for r in conn.execute(_UNBLOCK, {"e": ev["id"], "ids": wanted}))
        if done:
            conn.execute(_FORGET_BLOCKS, {"e": ev["id"], "ids": done})
        res = SeatsResult(ev["id"], tuple(done),
                          _skipped(conn, ev["id"], wanted, set(done)) if wanted else {})
        _publish(ctx, conn, ev["id"], "released", done)
        return finish(conn, actor, k, "seats_release", "event", ev["id"],
                      {"seats": done, "kind": kind, "reason": reason}, res.to_json())

    return _seats(run(ctx, actor, key, "seats_release",
                      {"event": str(event), "seats": ids, "kind": kind, "reason": reason},
                      body))


def _seats(d: dict[str, Any]) -> SeatsResult:
    return SeatsResult(d["event_id"], tuple(d["changed"]),
                       {k: list(v) for k, v in d["skipped"].items()})


def _publish(ctx: CoreContext, conn: Connection, event_id: int, kind: str,
             seats: list[int], ga_section: int | None = None) -> None:
    if seats or ga_section is not None:
        change = SeatChange(event_id, kind, tuple(seats), ga_section)
        after_commit(conn, lambda: ctx.publish(change))


def blocked_seats(engine: Engine, event: str | int) -> list[BlockedSeat]:
    with engine.connect() as conn:
        ev = event_row(conn, event)
        return [BlockedSeat(*r) for r in conn.execute(_BLOCKS, {"e": ev["id"]})]


def set_ga_capacity(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                    section: str | int, capacity: int) -> GaCapacity:
    """Raise or lower a GA section's capacity for one event; never below held + sold +
    leased (one conditional UPDATE, so a sale racing the change cannot slip under it)."""
    require(actor)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or \
            not 0 <= capacity <= 1_000_000:
        raise BoxOfficeError("invalid_input", detail="capacity is 0..1,000,000")

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event)
        sid = section_id(conn, ev["id"], section)
        row = conn.execute(_GA_CAPACITY, {"cap": capacity, "e": ev["id"], "s": sid}).first()
        if row is None:
            now = conn.execute(_GA_ROW, {"e": ev["id"], "s": sid}).first()
            if now is None:
                raise BoxOfficeError("not_general_admission", section_id=section)
            raise BoxOfficeError("capacity_below_taken", capacity=capacity,
                                 taken=now.held + now.sold + now.leased)
        res = GaCapacity(ev["id"], sid, row.capacity, row.held, row.sold, row.leased)
        _publish(ctx, conn, ev["id"], "capacity", [], sid)
        return finish(conn, actor, k, "ga_capacity", "event", ev["id"],
                      {"section_id": sid, "capacity": capacity}, asdict(res))

    return GaCapacity(**run(ctx, actor, key, "ga_capacity",
                            {"event": str(event), "section": str(section),
                             "capacity": capacity}, body))


def issue_comp(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int, *,
               reason: str, seat_ids: list[int] | None = None,
               ga_section: str | int | None = None, quantity: int = 0,
               recipient: str | None = None) -> CompResult:
    """Complimentary tickets at price zero, issued and signed like any sale, with the
    reason and the supervisor recorded (``comps`` and the audit chain). Seats may come
    from blocked house seats."""
    require(actor)
    if actor.operator_id is None:
        raise BoxOfficeError("not_authorized", role="supervisor")
    if not reason.strip() or len(reason) > 200:
        raise BoxOfficeError("invalid_input", detail="a comp needs a reason")
    ids = _ids(seat_ids) if seat_ids else []
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise BoxOfficeError("invalid_quantity", quantity=quantity, max=100)
    if not ids and (ga_section is None or not 1 <= quantity <= 100):
        raise BoxOfficeError("invalid_input", detail="give seats, or a GA section and 1..100")
    from core.reservation.confirm import confirm_in
    from core.sales import tickets_bridge

    tickets_bridge.prepare(ctx)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=False)
        if ev["status"] not in ("on_sale", "paused"):
            raise BoxOfficeError("event_state", event=ev["code"], status=ev["status"],
                                 action="issue comps")
        hold = uuid.uuid4()
        conn.execute(_COMP_HOLD, {"hold": hold, "e": ev["id"], "t": actor.terminal_id,
                                  "op": actor.operator_id, "cur": ev["currency"]})
        if ids:
            got = conn.execute(_COMP_TAKE, {"e": ev["id"], "ids": ids, "hold": hold}).all()
            if len(got) != len(ids):
                taken = sorted(set(ids) - {r.seat_id for r in got})
                raise BoxOfficeError("seat_unavailable", seat_ids=taken)
            for r in sorted(got, key=lambda r: r.seat_id):
                if conn.execute(_COMP_ITEM, {"hold": hold, "e": ev["id"], "s": r.section_id,
                                             "seat": r.seat_id, "n": 1}).first() is None:
                    raise BoxOfficeError("missing_price_tiers", sections=str(r.section_id))
            conn.execute(_FORGET_BLOCKS, {"e": ev["id"], "ids": ids})
        if ga_section is not None and quantity:
            sid = section_id(conn, ev["id"], ga_section)
            if conn.execute(_COMP_GA, {"e": ev["id"], "s": sid, "n": quantity}).first() is None:
                raise BoxOfficeError("sold_out", wanted=quantity)
            if conn.execute(_COMP_ITEM, {"hold": hold, "e": ev["id"], "s": sid, "seat": None,
                                         "n": quantity}).first() is None:
                raise BoxOfficeError("missing_price_tiers", sections=str(ga_section))
        order = confirm_in(conn, actor, hold, "comp", customer_name=recipient)
        serials = tickets_bridge.issue(conn, ctx, actor, order)
        conn.execute(_COMP_NOTE, {"o": order.order_id, "e": ev["id"], "reason": reason.strip(),
                                  "who": recipient, "op": actor.operator_id,
                                  "t": actor.terminal_id})
        res = CompResult(order.order_id, order.number, ev["id"], serials, reason.strip())
        from core.outbox import events as outbox_events

        # A comp is an order too (price 0 or the tier's, tender "comp"; sale_id = order id).
        outbox_events.sale_completed(conn, actor, order, sale_id=order.order_id,
                                     tender="comp", serials=serials)
        _publish(ctx, conn, ev["id"], "sold", ids)
        return finish(conn, actor, k, "comp", "order", order.order_id,
                      {"event_id": ev["id"], "seats": ids, "ga_section": str(ga_section),
                       "quantity": quantity, "reason": reason.strip(),
                       "recipient": recipient, "serials": list(serials)}, res.to_json())

    d = run(ctx, actor, key, "comp", {"event": str(event), "seats": ids,
                                      "ga": str(ga_section), "n": quantity, "reason": reason,
                                      "recipient": recipient}, body)
    return CompResult(uuid.UUID(d["order_id"]), d["number"], d["event_id"],
                      tuple(d["serials"]), d["reason"])
