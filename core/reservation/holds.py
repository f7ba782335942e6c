"""Taking, releasing and extending holds: chosen seats, best available, GA units."""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from core import audit
from core.actors import Actor
from core.app_context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.reservation import sql
from core.reservation.allocation import Candidate, choose_block
from core.reservation.diagnose import explain_claim_failure, explain_event
from core.reservation.results import HoldLine, HoldResult, HoldState
from core.uow import after_commit, unit_of_work


def _ttl(ctx: CoreContext, actor: Actor) -> int:
    h = ctx.settings.holds
    return h.kiosk_ttl_s if actor.channel == "kiosk" else h.counter_ttl_s


def _check_quantity(ctx: CoreContext, n: int) -> None:
    mx = ctx.settings.sales.max_seats_per_order
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise BoxOfficeError("invalid_quantity", quantity=n, max=mx)
    if n > mx:
        raise BoxOfficeError("too_many_seats", max=mx)


def _begin(conn: Connection, ctx: CoreContext, key: uuid.UUID, command: str,
           params: dict, actor: Actor) -> dict | None:
    return begin_command(conn, key, command, params, actor.terminal_id,
                         ctx.settings.database.lock_timeout_ms)


def _claim(conn: Connection, ctx: CoreContext, actor: Actor, hold_id: uuid.UUID, event_id: int,
           seat_ids: list[int]) -> list:
    return conn.execute(sql.CLAIM_SEATS, {
        "event_id": event_id, "seat_ids": seat_ids, "n": len(seat_ids), "hold_id": hold_id,
        "ttl": _ttl(ctx, actor), "terminal_id": actor.terminal_id,
        "operator_id": actor.operator_id, "channel": _channel(actor),
    }).all()


def _claim_error(conn: Connection, event_id: int, ids: list[int], rows: list) -> BoxOfficeError:
    if rows and rows[0].seat_id is None:
        return BoxOfficeError("seat_unavailable", seat_ids=list(rows[0].busy) or ids)
    return explain_claim_failure(conn, event_id, ids)


def _channel(actor: Actor) -> str:
    return "kiosk" if actor.channel == "kiosk" else "counter"


def _result(hold_id: uuid.UUID, event_id: int, rows: list, adjacent: bool = True) -> HoldResult:
    first = rows[0]
    return HoldResult(
        hold_id=hold_id, event_id=event_id, expires_at=first.expires_at,
        total_minor=int(first.total_minor), currency=first.currency, adjacent=adjacent,
        lines=tuple(HoldLine(r.section_id, r.seat_id, 1, int(r.current_minor), r.tier_id)
                    for r in rows),
    )


def _finish_hold(conn: Connection, ctx: CoreContext, actor: Actor, key: uuid.UUID,
                 result: HoldResult, action: str) -> HoldResult:
    audit.append(conn, actor, action, "hold", result.hold_id,
                 {"event_id": result.event_id, "seats": list(result.seat_ids),
                  "qty": result.quantity, "total_minor": result.total_minor,
                  "currency": result.currency}, finish=(key, result.to_json()))
    change = SeatChange(result.event_id, "held", result.seat_ids,
                        next((ln.section_id for ln in result.lines if ln.seat_id is None), None))
    after_commit(conn, lambda: ctx.publish(change))
    return result


def hold_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
               seat_ids: Sequence[int]) -> HoldResult:
    """Hold exactly these seats, all or nothing."""
    key = as_key(key)
    ids = sorted({int(s) for s in seat_ids})
    if len(ids) != len(list(seat_ids)):
        raise BoxOfficeError("invalid_input", detail="A seat was listed twice.")
    _check_quantity(ctx, len(ids))
    with unit_of_work(ctx.engine) as conn:
        done = _begin(conn, ctx, key, "hold_seats", {"event_id": event_id, "seats": ids}, actor)
        if done is not None:
            return HoldResult.from_json(done)
        hold_id = uuid.uuid4()
        rows = _claim(conn, ctx, actor, hold_id, event_id, ids)
        if len(rows) != len(ids) or rows[0].seat_id is None:
            conn.rollback()
            raise _claim_error(conn, event_id, ids, rows)
        return _finish_hold(conn, ctx, actor, key, _result(hold_id, event_id, rows),
                            "hold_seats")


# Per engine (one database each): event ids mean nothing across databases.
_SECTIONS_CACHE: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, list[int]]]] = \
    weakref.WeakKeyDictionary()
_SECTIONS_TTL_S = 60.0


def _seated_sections(conn: Connection, event_id: int) -> list[int]:
    """A room's seated sections, cached briefly: they do not change while an event sells,
    and skipping the query saves a round trip on every best-available hold."""
    now = time.monotonic()
    cache = _SECTIONS_CACHE.setdefault(conn.engine, {})
    hit = cache.get(event_id)
    if hit is not None and now - hit[0] < _SECTIONS_TTL_S:
        return hit[1]
    found = [r[0] for r in conn.execute(sql.SEATED_SECTIONS, {"event_id": event_id})]
    if found:
        cache[event_id] = (now, found)
    return found


def hold_best_available(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
                        quantity: int, section_ids: Sequence[int] | None = None) -> HoldResult:
    """Hold the best ``quantity`` seats in the given sections (default: all seated ones,
    best first), adjacent in one row when possible, without queueing behind other buyers."""
    key = as_key(key)
    _check_quantity(ctx, quantity)
    sections = sorted({int(s) for s in section_ids}) if section_ids else None
    params = {"event_id": event_id, "quantity": quantity, "sections": sections}
    with unit_of_work(ctx.engine) as conn:
        done = _begin(conn, ctx, key, "hold_best", params, actor)
        if done is not None:
            return HoldResult.from_json(done)
        if sections is None:
            sections = _seated_sections(conn, event_id)
            if not sections:
                conn.rollback()
                raise explain_event(conn, event_id) or BoxOfficeError(
                    "sold_out", wanted=quantity)
        window = max(16, quantity * 8)
        chosen: list[Candidate] = []
        adjacent = False
        while True:
            rows = conn.execute(sql.PICK_WINDOW, {"event_id": event_id,
                                                  "section_ids": sections, "window": window})
            cands, free = [], {}
            for r in rows:
                if r.seat_id is None:
                    free[(r.section_id, r.row_label)] = set(r.free_row or ())
                else:
                    cands.append(Candidate(r.seat_id, r.section_id, r.row_label,
                                           r.seat_number, r.quality_rank))
            chosen, adjacent = choose_block(cands, quantity, free)
            if (adjacent and chosen) or len(cands) < window or window >= 1024:
                break
            window *= 4
        if len(chosen) < quantity:
            conn.rollback()
            raise explain_event(conn, event_id, section_ids=sections) or BoxOfficeError(
                "sold_out", wanted=quantity)
        hold_id = uuid.uuid4()
        ids = sorted(c.seat_id for c in chosen)
        rows = _claim(conn, ctx, actor, hold_id, event_id, ids)
        if len(rows) != len(ids) or rows[0].seat_id is None:  # e.g. no price tier
            conn.rollback()
            raise _claim_error(conn, event_id, ids, rows)
        return _finish_hold(conn, ctx, actor, key, _result(hold_id, event_id, rows, adjacent),
                            "hold_best")


def hold_general_admission(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
                           section_id: int, quantity: int) -> HoldResult:
    """Hold ``quantity`` GA places with one conditional UPDATE of the section's counter."""
    key = as_key(key)
    _check_quantity(ctx, quantity)
    params = {"event_id": event_id, "section_id": section_id, "quantity": quantity}
    with unit_of_work(ctx.engine) as conn:
        done = _begin(conn, ctx, key, "hold_ga", params, actor)
        if done is not None:
            return HoldResult.from_json(done)
        hold_id = uuid.uuid4()
        args = {"event_id": event_id, "section_id": section_id, "n": quantity,
                "hold_id": hold_id, "ttl": _ttl(ctx, actor), "terminal_id": actor.terminal_id,
                "operator_id": actor.operator_id, "channel": _channel(actor)}
        row = conn.execute(sql.CLAIM_GA, args).first()
        if row is None:
            # Places held by expired holds count as free: reclaim them here rather than
            # wait for the sweeper, then try once more.
            from core.reservation.expiry import expire_in

            if expire_in(conn, event_id):
                row = conn.execute(sql.CLAIM_GA, args).first()
        if row is None:
            conn.rollback()
            raise explain_event(conn, event_id, ga_section_id=section_id) or BoxOfficeError(
                "sold_out", wanted=quantity)
        result = HoldResult(
            hold_id=hold_id, event_id=event_id, expires_at=row.expires_at,
            total_minor=int(row.total_minor), currency=row.currency,
            lines=(HoldLine(section_id, None, quantity, int(row.current_minor), row.tier_id),),
        )
        return _finish_hold(conn, ctx, actor, key, result, "hold_ga")


def lock_hold(conn: Connection, actor: Actor, hold_id: uuid.UUID, *,
              allow_foreign: bool = False):
    h = conn.execute(sql.LOCK_HOLD, {"hold_id": hold_id}).first()
    if h is None:
        raise BoxOfficeError("unknown_hold", hold_id=str(hold_id))
    if h.terminal_id != actor.terminal_id and not allow_foreign and actor.channel != "system" \
            and actor.role not in ("supervisor", "admin"):
        raise BoxOfficeError("foreign_hold")
    return h


def held_seat_ids(conn: Connection, hold_id: uuid.UUID) -> list[int]:
    return [r[0] for r in conn.execute(sql.LOCK_HOLD_SEATS, {"hold_id": hold_id})]


def release_hold(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                 hold_id: uuid.UUID | str) -> HoldState:
    """Give the seats back. Releasing a hold that already ended is not an error."""
    key = as_key(key)
    hold_id = as_key(hold_id)
    with unit_of_work(ctx.engine) as conn:
        done = _begin(conn, ctx, key, "release_hold", {"hold_id": str(hold_id)}, actor)
        if done is not None:
            return HoldState.from_json(done)
        h = lock_hold(conn, actor, hold_id)
        if h.status != "active":
            state = HoldState(hold_id, h.status, h.expires_at, h.extensions)
            finish_command(conn, key, state.to_json())
            return state
        seats = held_seat_ids(conn, hold_id)
        if seats:
            conn.execute(sql.FREE_SEATS, {"event_id": h.event_id, "seat_ids": seats,
                                          "hold_id": hold_id})
        conn.execute(sql.GA_UNHOLD, {"hold_id": hold_id})
        conn.execute(sql.END_HOLD, {"status": "released", "hold_id": hold_id})
        audit.append(conn, actor, "release_hold", "hold", hold_id,
                     {"event_id": h.event_id, "seats": seats})
        state = HoldState(hold_id, "released", h.expires_at, h.extensions)
        finish_command(conn, key, state.to_json())
        change = SeatChange(h.event_id, "released", tuple(seats))
        after_commit(conn, lambda: ctx.publish(change))
        return state


def extend_hold(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                hold_id: uuid.UUID | str) -> HoldState:
    """Push the expiry out by ``holds.extend_s`` from now, at most ``holds.max_extensions``
    times; an expired hold cannot be revived (its seats may be someone else's)."""
    key = as_key(key)
    hold_id = as_key(hold_id)
    limits = ctx.settings.holds
    with unit_of_work(ctx.engine) as conn:
        done = _begin(conn, ctx, key, "extend_hold", {"hold_id": str(hold_id)}, actor)
        if done is not None:
            return HoldState.from_json(done)
        h = lock_hold(conn, actor, hold_id)
        if h.status != "active":
            raise BoxOfficeError("hold_not_active", status=h.status)
        if h.expired:
            raise BoxOfficeError("hold_expired")
        if h.extensions >= limits.max_extensions:
            raise BoxOfficeError("extension_limit", max=limits.max_extensions)
        seats = held_seat_ids(conn, hold_id)
        row = conn.execute(sql.EXTEND_HOLD, {"hold_id": hold_id, "secs": limits.extend_s,
                                             "event_id": h.event_id, "seat_ids": seats}).one()
        audit.append(conn, actor, "extend_hold", "hold", hold_id,
                     {"expires_at": row.expires_at.isoformat()})
        state = HoldState(hold_id, "active", row.expires_at, row.extensions)
        finish_command(conn, key, state.to_json())
        return state
