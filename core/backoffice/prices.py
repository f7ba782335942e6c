"""Prices by hand: a supervisor sets a section's price now (within its floor and
ceiling, with a reason), a change larger than the event's threshold waits for a second
supervisor, and the automatic rules can be switched off for an event.

An override is stored as a ``manual`` pricing rule as well, so the pricing job keeps it
instead of moving the price back. A hold keeps the price it quoted (its items carry the
unit price), so only holds taken after the change see the new price. Every change lands
in ``price_changes`` with who made it and who approved it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from core.actors import Actor, OperatorInfo, record_approval_row
from core.app_context import CoreContext
from core.backoffice.common import event_row, finish, require, run, section_id
from core.errors import BoxOfficeError
from core.sales.approvals import SupervisorPin, verify_supervisor

# --- SQL (one place: these become the price-change definer function) --------------------

_LOCK_TIER = text(
    "select id, event_id, section_id, base_minor, floor_minor, ceiling_minor, current_minor"
    " from price_tiers where event_id = :e and section_id = :s for update"
)
_END_MANUAL = text("update pricing_rules set active = false where kind = 'manual'"
                   " and event_id = :e and section_id = :s and active")
_MANUAL = text("insert into pricing_rules (event_id, section_id, kind, params, active)"
               " values (:e, :s, 'manual', cast(:p as jsonb), true)")
_SET = text("update price_tiers set current_minor = :p where id = :t")
_HISTORY = text(
    "insert into price_changes (tier_id, old_minor, new_minor, reason, operator_id,"
    " approved_by, at) values (:t, :old, :new, :reason, :op, :appr, now())"
)
_REQUEST = text(
    "insert into price_requests (id, tier_id, event_id, old_minor, new_minor, reason, status,"
    " requested_by, terminal_id) values (:id, :t, :e, :old, :new, :reason, 'pending', :op,"
    " :term)"
)
_LOCK_REQUEST = text("select * from price_requests where id = :id for update")
_DECIDE = text("update price_requests set status = :s, decided_by = :op, decided_at = now()"
               " where id = :id")
# Automatic rules off: sections without a manual price go back to their base price.
_BACK_TO_BASE = text(
    """
    update price_tiers pt set current_minor = pt.base_minor
    from price_tiers old
    where old.id = pt.id and pt.event_id = :e and pt.current_minor <> pt.base_minor
      and not exists (select 1 from pricing_rules r where r.event_id = pt.event_id
                      and r.section_id = pt.section_id and r.kind = 'manual' and r.active)
    returning pt.id, old.current_minor as old, pt.current_minor as new
    """
)
_HISTORY_OF = text(
    """
    select pc.at, s.code as section, pc.old_minor, pc.new_minor, pc.reason,
           o.login as changed_by, a.login as approved_by
    from price_changes pc join price_tiers pt on pt.id = pc.tier_id
    join sections s on s.id = pt.section_id
    left join operators o on o.id = pc.operator_id
    left join operators a on a.id = pc.approved_by
    where pt.event_id = :e order by pc.at, pc.id
    """
)
_REQUESTS = text(
    """
    select r.id, e.code as event, s.code as section, r.old_minor, r.new_minor, r.reason,
           r.status, o.login as requested_by, r.created_at
    from price_requests r join events e on e.id = r.event_id
    join price_tiers pt on pt.id = r.tier_id join sections s on s.id = pt.section_id
    join operators o on o.id = r.requested_by
    where (cast(:status as text) is null or r.status = :status)
      and (cast(:e as integer) is null or r.event_id = :e)
    order by r.created_at
    """
)


@dataclass(frozen=True, slots=True)
class PriceResult:
    status: str  # applied | pending (waits for a second supervisor) | rejected
    event_id: int
    tier_id: int
    old_minor: int
    new_minor: int
    request_id: str | None = None
    approved_by: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PriceHistoryRow:
    at: datetime
    section: str
    old_minor: int
    new_minor: int
    reason: str
    changed_by: str | None
    approved_by: str | None


@dataclass(frozen=True, slots=True)
class PriceRequestRow:
    id: uuid.UUID
    event: str
    section: str
    old_minor: int
    new_minor: int
    reason: str
    status: str
    requested_by: str
    created_at: datetime


def needs_second_supervisor(old: int, new: int, over_pct: int) -> bool:
    """A change of more than ``over_pct`` percent of the current price (integer maths)."""
    return abs(new - old) * 100 > over_pct * old


def apply_price(conn: Connection, actor: Actor, tier: Any, new: int, reason: str,
                approved_by: int | None) -> None:
    """Set the tier's price now and keep it there against the rules; history + audit."""
    from core import audit

    conn.execute(_END_MANUAL, {"e": tier.event_id, "s": tier.section_id})
    conn.execute(_MANUAL, {"e": tier.event_id, "s": tier.section_id,
                           "p": json.dumps({"price_minor": new})})
    conn.execute(_SET, {"p": new, "t": tier.id})
    conn.execute(_HISTORY, {"t": tier.id, "old": tier.current_minor, "new": new,
                            "reason": reason[:120], "op": actor.operator_id,
                            "appr": approved_by})
    from core.outbox import events as outbox_events

    outbox_events.price_changed(conn, actor, tier_id=tier.id, old_minor=tier.current_minor,
                                new_minor=new, reason=reason[:120])
    audit.append(conn, actor, "price_override", "price_tier", tier.id,
                 {"event_id": tier.event_id, "old_minor": tier.current_minor,
                  "new_minor": new, "reason": reason, "approved_by": approved_by})


def _check_price(tier: Any, price: int) -> None:
    if not isinstance(price, int) or isinstance(price, bool):
        raise BoxOfficeError("invalid_input", detail=f"price {price!r}")
    if not tier.floor_minor <= price <= tier.ceiling_minor:
        raise BoxOfficeError("price_out_of_bounds", price=price, floor=tier.floor_minor,
                             ceiling=tier.ceiling_minor)
    if price % 100:
        raise BoxOfficeError("price_not_whole", price=price)


def override_price(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                   section: str | int, price_minor: int, *, reason: str,
                   approver: SupervisorPin | None = None) -> PriceResult:
    """Set a section's price now. Over the event's threshold it needs a second
    supervisor: their PIN now (``approver``), or a pending request they approve later."""
    require(actor)
    if actor.operator_id is None:
        raise BoxOfficeError("not_authorized", role="supervisor")
    if not reason.strip():
        raise BoxOfficeError("invalid_input", detail="a price change needs a reason")
    second = verify_supervisor(ctx.engine, actor, approver) if approver else None

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event)
        if ev["status"] in ("canceled", "closed"):
            raise BoxOfficeError("event_state", event=ev["code"], status=ev["status"],
                                 action="change prices")
        sid = section_id(conn, ev["id"], section)
        tier = conn.execute(_LOCK_TIER, {"e": ev["id"], "s": sid}).first()
        if tier is None:
            raise BoxOfficeError("unknown_tier", tier_id=f"{ev['code']}/{section}")
        _check_price(tier, price_minor)
        big = needs_second_supervisor(tier.current_minor, price_minor,
                                      ev["price_approval_over_pct"])
        if big and second is None:
            rid = uuid.uuid4()
            conn.execute(_REQUEST, {"id": rid, "t": tier.id, "e": ev["id"],
                                    "old": tier.current_minor, "new": price_minor,
                                    "reason": reason.strip()[:120], "op": actor.operator_id,
                                    "term": actor.terminal_id})
            res = PriceResult("pending", ev["id"], tier.id, tier.current_minor, price_minor,
                              str(rid))
            return finish(conn, actor, k, "price_request", "price_tier", tier.id,
                          res.to_json(), res.to_json())
        approved_by = second.id if big and second is not None else None
        if big and second is not None:
            # Through the database's approval check (the PIN's one-use proof, never the
            # one who asked): a monitor login may not write approvals itself.
            record_approval_row(conn, actor, second, "price_override", "other",
                                "price_tier", tier.id, price_minor,
                                requested_by=actor.operator_id)
        apply_price(conn, actor, tier, price_minor, reason.strip(), approved_by)
        res = PriceResult("applied", ev["id"], tier.id, tier.current_minor, price_minor,
                          None, approved_by)
        return finish(conn, actor, k, "price_set", "price_tier", tier.id, res.to_json(),
                      res.to_json())

    res = PriceResult(**run(ctx, actor, key, "price_set",
                            {"event": str(event), "section": str(section),
                             "price": price_minor, "reason": reason}, body))
    _announce(ctx, res)
    return res


def _announce(ctx: CoreContext, res: PriceResult) -> None:
    """Open seat maps re-read their prices on a change of the event (after commit)."""
    if res.status == "applied":
        from core.app_context import SeatChange

        ctx.publish(SeatChange(res.event_id, "price"))


def decide_request(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                   request_id: uuid.UUID | str, *, approve: bool,
                   approver: OperatorInfo | None = None) -> PriceResult:
    """A second supervisor approves (the price applies now) or rejects a pending change;
    nobody decides their own request. ``approver`` is that supervisor as their PIN was
    just checked (its one-use proof lets a terminal login record the approval); without
    one only the owner's connection may approve."""
    require(actor)
    if actor.operator_id is None:
        raise BoxOfficeError("not_authorized", role="supervisor")
    try:
        rid = uuid.UUID(str(request_id))
    except ValueError:
        raise BoxOfficeError("unknown_price_request", request_id=request_id) from None
    deciding: int = actor.operator_id

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        req = conn.execute(_LOCK_REQUEST, {"id": rid}).first()
        if req is None:
            raise BoxOfficeError("unknown_price_request", request_id=str(rid))
        if req.status != "pending":
            raise BoxOfficeError("price_request_decided", request_id=str(rid),
                                 status=req.status)
        if req.requested_by == actor.operator_id:
            raise BoxOfficeError("self_approval")
        conn.execute(_DECIDE, {"s": "approved" if approve else "rejected",
                               "op": actor.operator_id, "id": rid})
        tier = conn.execute(text("select id, event_id, section_id, base_minor, floor_minor,"
                                 " ceiling_minor, current_minor from price_tiers"
                                 " where id = :t for update"), {"t": req.tier_id}).one()
        if approve:
            _check_price(tier, int(req.new_minor))
            who = approver or OperatorInfo(deciding, "", "", actor.role or "supervisor")
            record_approval_row(conn, actor, who, "price_override", "other", "price_tier",
                                tier.id, int(req.new_minor), requested_by=req.requested_by)
            # Recorded as the requester's change, approved by this supervisor.
            requester = Actor(actor.terminal_id, actor.terminal_name, req.requested_by,
                              "supervisor", actor.channel)
            apply_price(conn, requester, tier, int(req.new_minor), req.reason,
                        actor.operator_id)
        res = PriceResult("applied" if approve else "rejected", tier.event_id, tier.id,
                          tier.current_minor, int(req.new_minor), str(rid),
                          actor.operator_id if approve else None)
        return finish(conn, actor, k, "price_decide", "price_request", rid,
                      {"approve": approve, "request_id": str(rid)}, res.to_json())

    res = PriceResult(**run(ctx, actor, key, "price_decide",
                            {"request": str(rid), "approve": approve}, body))
    _announce(ctx, res)
    return res


def set_dynamic(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event: str | int,
                enabled: bool) -> dict[str, Any]:
    """Switch the event's automatic pricing rules off (sections without a manual price go
    back to their base price) or back on (the rules apply again at once)."""
    from core import audit
    from core.backoffice.events import set_dynamic_pricing

    require(actor)

    def body(conn: Connection, k: uuid.UUID) -> dict[str, Any]:
        ev = event_row(conn, event, lock=True)
        rules = set_dynamic_pricing(conn, actor, ev["id"], enabled)
        moved = []
        if not enabled:
            for r in conn.execute(_BACK_TO_BASE, {"e": ev["id"]}):
                conn.execute(_HISTORY, {"t": r.id, "old": r.old, "new": r.new,
                                        "reason": "dynamic pricing off",
                                        "op": actor.operator_id, "appr": None})
                moved.append([r.id, r.old, r.new])
                from core.outbox import events as outbox_events

                outbox_events.price_changed(conn, actor, tier_id=r.id, old_minor=r.old,
                                            new_minor=r.new, reason="dynamic pricing off")
            if moved:
                audit.append(conn, actor, "price_change", "event", ev["id"],
                             {"changes": moved, "reason": "dynamic pricing off"})
        return finish(conn, actor, k, "price_dynamic", "event", ev["id"],
                      {"enabled": enabled}, {"event_id": ev["id"], "enabled": enabled,
                                             "rules": rules, "repriced": moved})

    res = run(ctx, actor, key, "price_dynamic", {"event": str(event), "on": enabled}, body)
    if enabled:
        from core.pricing import apply_pricing

        apply_pricing(ctx, actor, res["event_id"])
    from core.app_context import SeatChange

    ctx.publish(SeatChange(res["event_id"], "price"))
    return res


def price_history(engine: Engine, event: str | int) -> list[PriceHistoryRow]:
    with engine.connect() as conn:
        ev = event_row(conn, event)
        return [PriceHistoryRow(*r) for r in conn.execute(_HISTORY_OF, {"e": ev["id"]})]


def price_requests(engine: Engine, *, event: str | int | None = None,
                   status: str | None = "pending") -> list[PriceRequestRow]:
    with engine.connect() as conn:
        eid = event_row(conn, event)["id"] if event is not None else None
        return [PriceRequestRow(*r) for r in conn.execute(_REQUESTS,
                                                          {"status": status, "e": eid})]
