"""Dynamic pricing: rules move each tier's current price between its floor and ceiling.

Rules (``pricing_rules``, per event, optionally per section):
- ``occupancy``: ``{"steps": [[50, 10], [80, 25]]}`` — when at least 50% of the section
  is sold or held, +10% of the base price; at 80%, +25% (the highest step reached).
- ``last_minute``: ``{"hours_before": 3, "percent": -20, "max_occupancy": 60}`` — in the
  last 3 hours before the show, -20% while the section is at most 60% full.
- ``manual``: ``{"price_minor": 15000}`` — a supervisor's override; beats the others.

Prices are rounded to whole currency units and clamped to [floor, ceiling]. A hold keeps
the price it quoted; only later holds see a new price. Every change lands in
``price_changes`` and the audit chain. ``apply_pricing`` is safe to run from several
workers at once (the tiers are row-locked) and changes nothing when nothing is due.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from core import audit
from core.actors import Actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.uow import unit_of_work

RULE_KINDS = ("occupancy", "last_minute", "manual")


@dataclass(frozen=True, slots=True)
class TierState:
    tier_id: int
    event_id: int
    section_id: int
    base_minor: int
    floor_minor: int
    ceiling_minor: int
    current_minor: int
    capacity: int
    taken: int
    starts_at: datetime
    now: datetime

    @property
    def occupancy_pct(self) -> float:
        return 100.0 * self.taken / self.capacity if self.capacity else 0.0


@dataclass(frozen=True, slots=True)
class PriceChangeResult:
    tier_id: int
    old_minor: int
    new_minor: int
    reason: str


def validate_rule(kind: str, params: dict[str, Any]) -> None:
    try:
        if kind == "occupancy":
            steps = params["steps"]
            assert steps and all(0 <= float(t) <= 100 and -100 < float(p) <= 500
                                 for t, p in steps)
        elif kind == "last_minute":
            assert float(params["hours_before"]) > 0
            assert -100 < float(params["percent"]) <= 500
            assert 0 <= float(params.get("max_occupancy", 100)) <= 100
        elif kind == "manual":
            assert int(params["price_minor"]) > 0
        else:
            raise BoxOfficeError("invalid_rule", detail=f"unknown kind {kind!r}")
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise BoxOfficeError("invalid_rule", detail=f"{kind}: {params} ({exc!r})") from None


def target_price(tier: TierState, rules: list[tuple[str, dict[str, Any]]]) -> tuple[int, str]:
    """The price the rules ask for now, and why. Pure: no database."""
    manual = [p for k, p in rules if k == "manual"]
    if manual:
        price, why = int(manual[-1]["price_minor"]), "manual override"
    else:
        pct = 0.0
        reasons = []
        for kind, p in rules:
            if kind == "occupancy":
                reached = [float(step) for t, step in p["steps"]
                           if tier.occupancy_pct >= float(t)]
                if reached:
                    pct += max(reached)
                    reasons.append(f"occupancy {tier.occupancy_pct:.0f}% {max(reached):+g}%")
            elif kind == "last_minute":
                window = timedelta(hours=float(p["hours_before"]))
                if tier.starts_at - window <= tier.now < tier.starts_at and \
                        tier.occupancy_pct <= float(p.get("max_occupancy", 100)):
                    pct += float(p["percent"])
                    reasons.append(f"last minute {float(p['percent']):+g}%")
        # Integer arithmetic on minor units; percent held as basis points.
        bp = round(pct * 100)
        price = tier.base_minor + (tier.base_minor * bp) // 10_000
        why = ", ".join(reasons) or "base price"
    price = ((price + 50) // 100) * 100  # whole currency units
    return max(tier.floor_minor, min(tier.ceiling_minor, price)), why


_TIERS = text(
    """
    select pt.id as tier_id, pt.event_id, pt.section_id, pt.base_minor, pt.floor_minor,
           pt.ceiling_minor, pt.current_minor, s.capacity, e.starts_at, now() as now,
           case when s.kind = 'ga' then coalesce(
             (select held + sold + leased from ga_inventory g
              where g.event_id = pt.event_id and g.section_id = pt.section_id), 0)
           else (select count(*) from event_seats es where es.event_id = pt.event_id
                 and es.section_id = pt.section_id and (es.status in ('sold', 'leased')
                 or (es.status = 'held' and es.hold_expires_at > now()))) end as taken
    from price_tiers pt join sections s on s.id = pt.section_id
    join events e on e.id = pt.event_id
    where e.status in ('on_sale', 'paused') and (cast(:event_id as integer) is null
          or pt.event_id = :event_id)
    order by pt.id
    for update of pt
    """
)
_RULES = text(
    "select event_id, section_id, kind, params from pricing_rules where active"
    " and (cast(:event_id as integer) is null or event_id = :event_id) order by id"
)
_SET = text("update price_tiers set current_minor = :p where id = :t")
_HISTORY = text(
    "insert into price_changes (tier_id, old_minor, new_minor, reason, operator_id, at)"
    " values (:t, :old, :new, :reason, :op, now())"
)


def _apply_in(conn: Connection, actor: Actor, event_id: int | None) -> list[PriceChangeResult]:
    tiers = [TierState(r.tier_id, r.event_id, r.section_id, r.base_minor, r.floor_minor,
                       r.ceiling_minor, r.current_minor, r.capacity, r.taken, r.starts_at,
                       r.now)
             for r in conn.execute(_TIERS, {"event_id": event_id})]
    rules: dict[int, list[tuple[int | None, str, dict[str, Any]]]] = {}
    for r in conn.execute(_RULES, {"event_id": event_id}):
        rules.setdefault(r.event_id, []).append((r.section_id, r.kind, r.params))
    changes = []
    for t in tiers:
        applicable = [(k, p) for sec, k, p in rules.get(t.event_id, [])
                      if sec is None or sec == t.section_id]
        new, why = target_price(t, applicable)
        if new != t.current_minor:
            conn.execute(_SET, {"p": new, "t": t.tier_id})
            conn.execute(_HISTORY, {"t": t.tier_id, "old": t.current_minor, "new": new,
                                    "reason": why[:120], "op": actor.operator_id})
            changes.append(PriceChangeResult(t.tier_id, t.current_minor, new, why))
    if changes:
        audit.append(conn, actor, "price_change", "event", event_id or "all",
                     {"changes": [[c.tier_id, c.old_minor, c.new_minor, c.reason]
                                  for c in changes]})
    return changes


def apply_pricing(ctx: CoreContext, actor: Actor,
                  event_id: int | None = None) -> list[PriceChangeResult]:
    """Bring every tier (of one event, or all on sale) to what its rules ask for now."""
    with unit_of_work(ctx.engine) as conn:
        return _apply_in(conn, actor, event_id)


def add_rule(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, event_id: int,
             kind: str, params: dict[str, Any], section_id: int | None = None) -> int:
    """Add a pricing rule (supervisor or admin) and reprice the event at once."""
    key = as_key(key)
    if actor.role not in ("supervisor", "admin"):
        raise BoxOfficeError("not_authorized", role="supervisor")
    validate_rule(kind, params)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "add_price_rule",
                             {"event": event_id, "section": section_id, "kind": kind,
                              "params": params}, actor.terminal_id,
                             ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return int(done["rule_id"])
        rid = conn.execute(text(
            "insert into pricing_rules (event_id, section_id, kind, params, active)"
            " values (:e, :s, :k, cast(:p as jsonb), true) returning id"),
            {"e": event_id, "s": section_id, "k": kind, "p": json.dumps(params)}).scalar_one()
        audit.append(conn, actor, "price_rule", "event", event_id,
                     {"rule_id": rid, "section_id": section_id, "kind": kind, "params": params})
        _apply_in(conn, actor, event_id)
        finish_command(conn, key, {"rule_id": rid})
        return int(rid)


def override_price(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, tier_id: int,
                   price_minor: int, approver: Any, reason_code: str = "other") -> int:
    """A supervisor-approved manual price for one tier (within its floor and ceiling)."""
    from core.sales.approvals import record_approval, verify_supervisor

    key = as_key(key)
    supervisor = verify_supervisor(ctx.engine, actor, approver)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "override_price", {"tier": tier_id, "p": price_minor},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return int(done["price_minor"])
        t = conn.execute(text("select event_id, section_id, floor_minor, ceiling_minor from"
                              " price_tiers where id = :t for update"), {"t": tier_id}).first()
        if t is None:
            raise BoxOfficeError("unknown_tier", tier_id=tier_id)
        if not t.floor_minor <= price_minor <= t.ceiling_minor:
            raise BoxOfficeError("price_out_of_bounds", price=price_minor,
                                 floor=t.floor_minor, ceiling=t.ceiling_minor)
        conn.execute(text("update pricing_rules set active = false where kind = 'manual' and"
                          " event_id = :e and section_id = :s"),
                     {"e": t.event_id, "s": t.section_id})
        conn.execute(text("insert into pricing_rules (event_id, section_id, kind, params,"
                          " active) values (:e, :s, 'manual', cast(:p as jsonb), true)"),
                     {"e": t.event_id, "s": t.section_id,
                      "p": json.dumps({"price_minor": price_minor})})
        record_approval(conn, actor, supervisor, "price_override", reason_code, "price_tier",
                        tier_id, price_minor)
        _apply_in(conn, actor, t.event_id)
        finish_command(conn, key, {"price_minor": price_minor})
        return price_minor


class PricingJob:
    """The worker's periodic repricing (every ``interval_s``, not every worker pass)."""

    def __init__(self, interval_s: float = 30.0) -> None:
        self.interval_s = interval_s
        self._last = 0.0
        self._actor: Actor | None = None

    def __call__(self, ctx: CoreContext) -> list[PriceChangeResult]:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return []
        self._last = now
        if self._actor is None:
            from core.actors import system_actor

            self._actor = system_actor(ctx.engine, "pricing")
        return apply_pricing(ctx, self._actor)
