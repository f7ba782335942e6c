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
import math
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
from core.money import MAX_AMOUNT_MINOR, check_amount
from core.outbox import events as outbox_events
from core.reservation import inputs
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


_EXAMPLES = {
    "occupancy": '{"steps": [[50, 10], [80, 25]]}',
    "last_minute": '{"hours_before": 3, "percent": -20, "max_occupancy": 60}',
    "manual": '{"price_minor": 15000}',
}
_PARAMS = {"occupancy": {"steps"}, "last_minute": {"hours_before", "percent", "max_occupancy"},
           "manual": {"price_minor"}}


def _bad(kind: str, why: str) -> BoxOfficeError:
    return BoxOfficeError("invalid_rule", detail=f"{kind}: {why} (e.g. {_EXAMPLES[kind]})")


def _number(kind: str, value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _bad(kind, f"{name} must be a number, got {value!r}")
    try:
        n = float(value)
    except ValueError:
        raise _bad(kind, f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(n):
        raise _bad(kind, f"{name} must be a finite number, got {value!r}")
    return n


def _percent(kind: str, value: Any, name: str = "percent") -> float:
    p = _number(kind, value, name)
    if not -100 < p <= 500:
        raise _bad(kind, f"{name} {p:g} must be above -100 and at most 500")
    return p


def _occupancy(kind: str, value: Any, name: str) -> float:
    t = _number(kind, value, name)
    if not 0 <= t <= 100:
        raise _bad(kind, f"{name} {t:g}% must be between 0 and 100")
    return t


def validate_rule(kind: str, params: dict[str, Any]) -> None:
    """Refuse a rule whose parameters ``target_price`` could not use, naming the
    parameter and the bound it breaks."""
    if kind not in RULE_KINDS:
        raise BoxOfficeError("invalid_rule", detail=f"unknown kind {kind!r} (one of"
                             f" {', '.join(RULE_KINDS)})")
    if not isinstance(params, dict):
        raise _bad(kind, "the parameters must be a JSON object")
    unknown = sorted(set(params) - _PARAMS[kind])
    if unknown:
        raise _bad(kind, f"unknown parameter(s) {', '.join(map(repr, unknown))}; expected"
                         f" {', '.join(sorted(_PARAMS[kind]))}")
    missing = sorted(_PARAMS[kind] - set(params) - {"max_occupancy"})
    if missing:
        raise _bad(kind, f"{', '.join(missing)} is required")
    if kind == "occupancy":
        steps = params["steps"]
        if not isinstance(steps, list) or not steps:
            raise _bad(kind, "steps must be a non-empty list of [occupancy %, percent] pairs")
        for n, step in enumerate(steps, 1):
            if not isinstance(step, (list, tuple)) or len(step) != 2:
                raise _bad(kind, f"step {n} must be a pair [occupancy %, percent], got {step!r}")
            _occupancy(kind, step[0], f"step {n} threshold")
            _percent(kind, step[1], f"step {n} percent")
    elif kind == "last_minute":
        if _number(kind, params["hours_before"], "hours_before") <= 0:
            raise _bad(kind, f"hours_before {params['hours_before']!r} must be above 0")
        _percent(kind, params["percent"])
        _occupancy(kind, params.get("max_occupancy", 100), "max_occupancy")
    else:
        price = params["price_minor"]
        if isinstance(price, bool) or not isinstance(price, int) or \
                not 0 < price <= MAX_AMOUNT_MINOR:
            raise _bad(kind, f"price_minor must be whole minor units between 1 and"
                             f" {MAX_AMOUNT_MINOR}, got {price!r}")


def _units(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def price_detail(tier: TierState,
                 rules: list[tuple[str, dict[str, Any]]]) -> tuple[int, str, str | None]:
    """The price the rules ask for now, why, and whether the tier's floor or ceiling cut
    it (None: within bounds). Pure: no database."""
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
    if price > tier.ceiling_minor:
        return tier.ceiling_minor, why, (f"clamped to the ceiling {_units(tier.ceiling_minor)}"
                                         f" (rules asked {_units(price)})")
    if price < tier.floor_minor:
        return tier.floor_minor, why, (f"clamped to the floor {_units(tier.floor_minor)}"
                                       f" (rules asked {_units(price)})")
    return price, why, None


def target_price(tier: TierState, rules: list[tuple[str, dict[str, Any]]]) -> tuple[int, str]:
    """The price the rules ask for now, and why; a price the floor or ceiling cut says so
    (the reason lands in the price history). Pure: no database."""
    price, why, clamp = price_detail(tier, rules)
    # The history keeps 120 characters: the clamp note is never the part cut off.
    return price, (f"{why[:120 - len(clamp) - 2]}; {clamp}" if clamp else why)


_TIERS_SELECT = """
    select pt.id as tier_id, pt.event_id, pt.section_id, pt.base_minor, pt.floor_minor,
           pt.ceiling_minor, pt.current_minor, s.capacity, e.starts_at, now() as now,
           s.code as section_code, s.name as section_name,
           case when s.kind = 'ga' then coalesce(
             (select held + sold + leased from ga_inventory g
              where g.event_id = pt.event_id and g.section_id = pt.section_id), 0)
           else (select count(*) from event_seats es where es.event_id = pt.event_id
                 and es.section_id = pt.section_id and (es.status in ('sold', 'leased')
                 or (es.status = 'held' and es.hold_expires_at > now()))) end as taken
    from price_tiers pt join sections s on s.id = pt.section_id
    join events e on e.id = pt.event_id
    """
_TIERS = text(
    _TIERS_SELECT + """
    where e.status in ('on_sale', 'paused') and (cast(:event_id as integer) is null
          or pt.event_id = :event_id)
    order by pt.id
    for update of pt
    """
)
# Reports read any event's tiers, whatever its state, without locking them.
_TIERS_OF_EVENT = text(_TIERS_SELECT + " where pt.event_id = :event_id order by s.sort_order,"
                       " pt.id")
_RULES_OF_EVENT = text(
    "select r.id, s.code as section_code, r.kind, r.params from pricing_rules r"
    " left join sections s on s.id = r.section_id"
    " where r.active and r.event_id = :event_id order by r.id"
)
_RULES = text(
    "select event_id, section_id, kind, params from pricing_rules where active"
    " and (cast(:event_id as integer) is null or event_id = :event_id) order by id"
)
_PRICED_SECTIONS = text("select section_id from price_tiers where event_id = :e")
_EVENT_EXISTS = text("select 1 from events where id = :e")
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
            outbox_events.price_changed(conn, actor, tier_id=t.tier_id,
                                        old_minor=t.current_minor, new_minor=new,
                                        reason=why[:120])
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
    event_id = inputs.event_id(event_id)
    section_id = None if section_id is None else inputs.section_id(section_id)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "add_price_rule",
                             {"event": event_id, "section": section_id, "kind": kind,
                              "params": params}, actor.terminal_id,
                             ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return int(done["rule_id"])
        # A rule for a section the event does not sell would silently reprice nothing
        # (and one for no event would fail on the foreign key): say which is wrong.
        priced = {r[0] for r in conn.execute(_PRICED_SECTIONS, {"e": event_id})}
        if not priced:
            if conn.execute(_EVENT_EXISTS, {"e": event_id}).first() is None:
                raise BoxOfficeError("unknown_event", event_id=event_id)
            raise BoxOfficeError("missing_price_tiers", sections="every section")
        if section_id is not None and section_id not in priced:
            raise BoxOfficeError("unknown_section", section_id=section_id)
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
    price_minor = check_amount(price_minor, "price")
    tier = inputs.whole_number(tier_id, "price tier")
    if not inputs.INT4[0] <= tier <= inputs.INT4[1]:
        raise BoxOfficeError("unknown_tier", tier_id=tier)
    tier_id = tier
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


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One tier of an event as ``pricing show`` prints it: its bounds, its price now,
    what its rules ask for, and whether the floor or ceiling cut that (``clamp``)."""

    tier_id: int
    section_code: str
    section_name: str
    base_minor: int
    floor_minor: int
    ceiling_minor: int
    current_minor: int
    target_minor: int
    why: str
    clamp: str | None


@dataclass(frozen=True, slots=True)
class RuleLine:
    rule_id: int
    section_code: str | None  # None: every section of the event
    kind: str
    params: dict[str, Any]


def price_report(ctx: CoreContext, event_id: int) -> tuple[list[PriceLine], list[RuleLine]]:
    """An event's tiers and active rules (read only); unknown_event if there is none."""
    event_id = inputs.event_id(event_id)
    with ctx.engine.connect() as conn:
        if conn.execute(_EVENT_EXISTS, {"e": event_id}).first() is None:
            raise BoxOfficeError("unknown_event", event_id=event_id)
        rows = conn.execute(_TIERS_OF_EVENT, {"event_id": event_id}).all()
        rules = [RuleLine(r.id, r.section_code, r.kind, dict(r.params))
                 for r in conn.execute(_RULES_OF_EVENT, {"event_id": event_id})]
    lines = []
    for r in rows:
        tier = TierState(r.tier_id, r.event_id, r.section_id, r.base_minor, r.floor_minor,
                         r.ceiling_minor, r.current_minor, r.capacity, r.taken, r.starts_at,
                         r.now)
        applicable = [(x.kind, x.params) for x in rules
                      if x.section_code is None or x.section_code == r.section_code]
        target, why, clamp = price_detail(tier, applicable)
        lines.append(PriceLine(r.tier_id, r.section_code, r.section_name, r.base_minor,
                               r.floor_minor, r.ceiling_minor, r.current_minor, target, why,
                               clamp))
    return lines, rules


class PricingJob:
    """The worker's periodic repricing: every ``pricing.interval_s`` seconds of the
    settings (or the ``interval_s`` given here), not every worker pass."""

    def __init__(self, interval_s: float | None = None) -> None:
        self._fixed = interval_s
        self.interval_s = interval_s if interval_s is not None else 30.0
        self._last = 0.0
        self._actor: Actor | None = None

    def __call__(self, ctx: CoreContext) -> list[PriceChangeResult]:
        if self._fixed is None:
            self.interval_s = ctx.settings.pricing.interval_s
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return []
        self._last = now
        if self._actor is None:
            from core.actors import system_actor

            self._actor = system_actor(ctx.engine, "pricing")
        return apply_pricing(ctx, self._actor)
