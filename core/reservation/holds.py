"""Taking, releasing and extending holds: chosen seats, best available, GA units."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core import audit
from core.actors import Actor, refusal
from core.context import CoreContext, SeatChange
from core.errors import BoxOfficeError
from core.idempotency import (
    as_key,
    begin_command,
    failure_result,
    finish_command,
    key_lock,
    raise_stored_failure,
    request_hash,
)
from core.reservation import inputs, onestatement, sql
from core.reservation.diagnose import explain_claim_failure, explain_event
from core.reservation.results import HoldLine, HoldResult, HoldState
from core.uow import after_commit, autocommit, retry_conflicts, unit_of_work


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


def _channel(actor: Actor) -> str:
    return "kiosk" if actor.channel == "kiosk" else "counter"


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


def _one_args(ctx: CoreContext, actor: Actor, key: uuid.UUID, command: str, rh: str,
              hold_id: uuid.UUID, event_id: int, adjacent: bool = True) -> dict[str, Any]:
    return {"lock_timeout": f"{ctx.settings.database.lock_timeout_ms}ms", "key": key,
            "command": command, "request_hash": rh, "action": command, "chain": actor.chain,
            "adjacent": adjacent, "event_id": event_id,
            "hold_id": hold_id, "ttl": _ttl(ctx, actor), "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "channel": _channel(actor),
            "key_lock": key_lock(key)}


def _prior(row: Any, command: str, rh: str) -> HoldResult:
    if row.command != command or row.request_hash != rh or row.result is None:
        raise BoxOfficeError("idempotency_conflict")
    raise_stored_failure(row.result)
    return HoldResult.from_json(row.result)


def _lookup(ctx: CoreContext, key: uuid.UUID, command: str, rh: str) -> HoldResult | None:
    """A duplicate of this key that committed while ours ran (a double click)."""
    with ctx.engine.connect() as conn:
        row = conn.execute(onestatement.PRIOR, {"key": key}).first()
    return None if row is None else _prior(row, command, rh)


def _run_one(ctx: CoreContext, conn: Connection | None, stmt: Any, args: dict[str, Any],
             key: uuid.UUID, command: str, rh: str) -> tuple[str | None, Any]:
    """Run a one-statement hold; returns (kind, row) or ('prior', HoldResult) when a
    concurrent duplicate of the key won the race."""
    for attempt in range(2):
        try:
            if conn is not None:
                rows = conn.execute(stmt, args).all()
            else:
                with autocommit(ctx.engine) as ac:
                    rows = ac.execute(stmt, args).all()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
            if "command_log" in constraint:
                if conn is not None:
                    conn.rollback()
                return "prior", _lookup(ctx, key, command, rh)
            if "audit_log" in constraint and attempt == 0 and conn is None:
                continue  # two first entries of a new chain at once: the next one links
            raise
        except DBAPIError as exc:
            # The database's own refusals (a kiosk over its held-places limit, migration
            # 0020) reach the customer as their catalogue message, never raw.
            err = refusal(exc)
            if err is None:
                raise
            raise err from None
        return (rows[0].kind, rows[0]) if rows else (None, None)
    raise AssertionError("unreachable")


def hold_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
               seat_ids: Sequence[int]) -> HoldResult:
    """Hold exactly these seats, all or nothing, in one round trip."""
    return retry_conflicts(lambda: _hold_seats(ctx, actor, key, event_id, seat_ids))


def _hold_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
                seat_ids: Sequence[int]) -> HoldResult:
    key = as_key(key)
    event_id = inputs.event_id(event_id)
    ids = sorted(set(inputs.seat_ids(seat_ids)))
    if len(ids) != len(list(seat_ids)):
        raise BoxOfficeError("invalid_input", detail="A seat was listed twice.")
    _check_quantity(ctx, len(ids))
    rh = request_hash("hold_seats", {"event_id": event_id, "seats": ids})
    try:
        return _claim_seats(ctx, actor, key, event_id, ids, rh)
    except _StoredRefusal as err:
        raise BoxOfficeError(err.code, **err.details) from None
    except BoxOfficeError as err:
        return _refused(ctx, actor, key, "hold_seats", rh, err)


class _StoredRefusal(BoxOfficeError):
    """A refusal the hold statement stored under its key itself."""


def _claim_seats(ctx: CoreContext, actor: Actor, key: uuid.UUID, event_id: int,
                 ids: list[int], rh: str) -> HoldResult:
    args = _one_args(ctx, actor, key, "hold_seats", rh, uuid.uuid4(), event_id)
    args.update(seat_ids=ids, n=len(ids))
    kind, row = _run_one(ctx, None, onestatement.HOLD_SEATS_ONE, args, key, "hold_seats", rh)
    if kind == "ok":
        return _published(ctx, HoldResult.from_json(row.result))
    if kind == "prior":
        return row if isinstance(row, HoldResult) else _prior(row, "hold_seats", rh)
    if kind == "busy" and row.busy:
        # Taken before this statement began, so not by a duplicate of this key in flight;
        # the statement stored this refusal under the key already.
        raise _StoredRefusal("seat_unavailable", seat_ids=list(row.busy))
    # The seats looked free when we started and were lost while we waited: perhaps to a
    # duplicate of this very command (a double click) that has just committed.
    again = _lookup(ctx, key, "hold_seats", rh)
    if again is not None:
        return again
    if kind == "busy":
        raise BoxOfficeError("seat_unavailable", seat_ids=ids)
    with ctx.engine.connect() as conn:
        raise explain_claim_failure(conn, event_id, ids)


# Refusals that depend only on the state the hold met: a copy of the command (a double
# click) must meet the same answer. Passing failures (timeouts, a lost database) and
# conflicts of the key itself are never stored: a retry acts again.
_REFUSALS = frozenset({
    "seat_unavailable", "sold_out", "unknown_event", "unknown_seat", "unknown_section",
    "seat_not_in_event", "sales_closed", "event_paused", "not_general_admission",
    "not_seated",
})
_RECORD_REFUSAL = text(
    "with cfg as (select set_config('lock_timeout', :lock_timeout, true) as v,"
    " pg_advisory_xact_lock(:key_lock) as copies)"
    " insert into command_log (key, command, request_hash, terminal_id, result)"
    " select :key, :command, :request_hash, :terminal_id, cast(:result as jsonb) from cfg"
    " on conflict (key) do nothing returning key"
)


def _refused(ctx: CoreContext, actor: Actor, key: uuid.UUID, command: str, rh: str,
             err: BoxOfficeError) -> HoldResult:
    """Answer a refused hold the way its copies will: the refusal is stored under the key
    (after the copies' lock), unless a copy stored its own answer first; then that answer
    (a hold, or its refusal) is this one's too. Whoever writes first decides, so two
    copies of one hold never answer "ok" and "seat_unavailable"."""
    if err.code not in _REFUSALS:
        raise err
    with unit_of_work(ctx.engine) as conn:
        mine = conn.execute(_RECORD_REFUSAL, {
            "lock_timeout": f"{ctx.settings.database.lock_timeout_ms}ms",
            "key_lock": key_lock(key), "key": key, "command": command, "request_hash": rh,
            "terminal_id": actor.terminal_id,
            "result": json.dumps(failure_result(err))}).first()
        if mine is None:
            prior = conn.execute(onestatement.PRIOR, {"key": key}).first()
    if mine is not None:
        raise err
    return _prior(prior, command, rh)


def _published(ctx: CoreContext, result: HoldResult) -> HoldResult:
    ctx.publish(SeatChange(result.event_id, "held", result.seat_ids,
                           next((ln.section_id for ln in result.lines if ln.seat_id is None),
                                None)))
    return result


def hold_best_available(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
                        quantity: int, section_ids: Sequence[int] | None = None) -> HoldResult:
    """Hold the best ``quantity`` seats in the given sections (default: all seated ones,
    best first), adjacent in one row when possible, without queueing behind other buyers."""
    return retry_conflicts(lambda: _hold_best(ctx, actor, key, event_id, quantity,
                                              section_ids))


def _hold_best(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
               quantity: int, section_ids: Sequence[int] | None) -> HoldResult:
    key = as_key(key)
    event_id = inputs.event_id(event_id)
    _check_quantity(ctx, quantity)
    sections = sorted({inputs.section_id(s) for s in section_ids}) if section_ids else None
    params = {"event_id": event_id, "quantity": quantity, "sections": sections}
    rh = request_hash("hold_best", params)
    try:
        return _claim_best(ctx, actor, key, event_id, quantity, sections, rh)
    except BoxOfficeError as err:
        return _refused(ctx, actor, key, "hold_best", rh, err)


def _claim_best(ctx: CoreContext, actor: Actor, key: uuid.UUID, event_id: int,
                quantity: int, sections: list[int] | None, rh: str) -> HoldResult:
    """One call of ``bo_hold_best`` (migration 0015): window, allocation, hold, command
    result and audit link in the database, one autocommit round trip."""
    args = {"key": key, "key_lock": key_lock(key), "request_hash": rh, "event_id": event_id,
            "quantity": quantity, "sections": sections, "hold_id": uuid.uuid4(),
            "ttl": _ttl(ctx, actor), "terminal_id": actor.terminal_id,
            "operator_id": actor.operator_id, "channel": _channel(actor),
            "chain": actor.chain,
            "lock_timeout": f"{ctx.settings.database.lock_timeout_ms}ms"}
    kind, row = _run_one(ctx, None, onestatement.HOLD_BEST, args, key, "hold_best", rh)
    if kind == "ok":
        return _published(ctx, HoldResult.from_json(row.result))
    if kind == "prior":
        return row if isinstance(row, HoldResult) else _prior(row, "hold_best", rh)
    # Refusals only: say why (the call wrote nothing and holds no lock any more).
    with ctx.engine.connect() as conn:
        if kind == "unpriced":  # e.g. a section without a price tier
            raise explain_claim_failure(conn, event_id, list(row.result))
        raise explain_event(conn, event_id, section_ids=sections) or BoxOfficeError(
            "sold_out", wanted=quantity)


def hold_general_admission(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
                           section_id: int, quantity: int) -> HoldResult:
    """Hold ``quantity`` GA places with one conditional UPDATE of the section's counter,
    in one round trip; when that finds no room, the slow path reclaims expired places."""
    return retry_conflicts(lambda: _hold_ga(ctx, actor, key, event_id, section_id, quantity))


def _hold_ga(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
             section_id: int, quantity: int) -> HoldResult:
    key = as_key(key)
    event_id, section_id = inputs.event_id(event_id), inputs.section_id(section_id)
    _check_quantity(ctx, quantity)
    params = {"event_id": event_id, "section_id": section_id, "quantity": quantity}
    rh = request_hash("hold_ga", params)
    args = _one_args(ctx, actor, key, "hold_ga", rh, uuid.uuid4(), event_id)
    args.update(section_id=section_id, n=quantity)
    kind, row = _run_one(ctx, None, onestatement.HOLD_GA_ONE, args, key, "hold_ga", rh)
    if kind == "ok":
        return _published(ctx, HoldResult.from_json(row.result))
    if kind == "prior":
        return row if isinstance(row, HoldResult) else _prior(row, "hold_ga", rh)
    return _hold_ga_slow(ctx, actor, key, event_id, section_id, quantity)


_COPIES_FIRST = text("select set_config('lock_timeout', :lock_timeout, true),"
                     " pg_advisory_xact_lock(:key_lock)")


def _hold_ga_slow(ctx: CoreContext, actor: Actor, key: uuid.UUID, event_id: int,
                  section_id: int, quantity: int) -> HoldResult:
    """The GA hold as a transaction: reclaims expired holds' places when the section
    looks full, and explains any other failure. A refusal is stored under the key before
    the copies' lock is let go, so a copy of this command (a double click) answers the
    same instead of acting on places freed in between."""
    params = {"event_id": event_id, "section_id": section_id, "quantity": quantity}
    refusal: BoxOfficeError | None = None
    with unit_of_work(ctx.engine) as conn:
        # Same lock order as the fast path: the key's advisory lock, then the key row,
        # then the counter.
        conn.execute(_COPIES_FIRST, {"key_lock": key_lock(key), "lock_timeout":
                                     f"{ctx.settings.database.lock_timeout_ms}ms"})
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
            refusal = explain_event(conn, event_id, ga_section_id=section_id) or \
                BoxOfficeError("sold_out", wanted=quantity)
            finish_command(conn, key, failure_result(refusal))
        else:
            result = HoldResult(
                hold_id=hold_id, event_id=event_id, expires_at=row.expires_at,
                total_minor=int(row.total_minor), currency=row.currency,
                lines=(HoldLine(section_id, None, quantity, int(row.current_minor),
                                row.tier_id),),
            )
            return _finish_hold(conn, ctx, actor, key, result, "hold_ga")
    raise refusal


def lock_hold(conn: Connection, actor: Actor, hold_id: uuid.UUID, *,
              allow_foreign: bool = False) -> Row[Any]:
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
    """Add ``holds.extend_s`` to the hold's expiry (never shortening it), at most
    ``holds.max_extensions`` times; an expired hold cannot be revived (its seats may be
    someone else's)."""
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
