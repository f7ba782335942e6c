"""``boxoffice pricing``: show tiers and rules, reprice now, add a rule (supervisor PIN)."""

from __future__ import annotations

import argparse
import getpass
import json
import uuid
from typing import Any


def _ctx() -> Any:
    from boxoffice_cli.main import _context

    return _context()


def _event_id(ctx: Any, code: str) -> int:
    from sqlalchemy import text

    from core.errors import BoxOfficeError

    with ctx.engine.connect() as c:
        row = c.execute(text("select id from events where code = :c"), {"c": code}).first()
    if row is None:
        raise BoxOfficeError("unknown_event", event_id=code)
    return int(row[0])


def _print_event(ctx: Any, event_id: int, code: str, name: str, currency: str) -> None:
    from core.money import format_minor
    from core.pricing import price_report

    def money(minor: int) -> str:
        return format_minor(minor, currency, "en")

    lines, rules = price_report(ctx, event_id)
    print(f"{code}  {name}")
    print(f"    {'section':<10} {'price':>14} {'floor':>14} {'ceiling':>14} {'base':>14}")
    for ln in lines:
        print(f"    {ln.section_code:<10} {money(ln.current_minor):>14}"
              f" {money(ln.floor_minor):>14} {money(ln.ceiling_minor):>14}"
              f" {money(ln.base_minor):>14}  {ln.section_name}")
        if ln.target_minor != ln.current_minor or ln.clamp:
            note = f"; {ln.clamp}" if ln.clamp else ""
            print(f"    {'':<10} rules ask {money(ln.target_minor)} ({ln.why}{note})")
    if not rules:
        print("    rules: none")
    for r in rules:
        print(f"    rule {r.rule_id}: {r.kind} on {r.section_code or 'every section'}"
              f" {json.dumps(r.params)}")


def cmd_show(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    ctx = _ctx()
    if args.event:
        ev = _event_id(ctx, args.event)  # unknown_event: a clear error and exit 1
        with ctx.engine.connect() as c:
            row = c.execute(text("select code, name, currency from events where id = :e"),
                            {"e": ev}).one()
        _print_event(ctx, ev, row.code, row.name, row.currency)
        return 0
    from core.reservation import upcoming_events

    for e in upcoming_events(ctx.engine):
        _print_event(ctx, e.id, e.code, e.name, e.currency)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from core.actors import system_actor
    from core.pricing import apply_pricing

    ctx = _ctx()
    event = _event_id(ctx, args.event) if args.event else None
    changes = apply_pricing(ctx, system_actor(ctx.engine, "pricing"), event)
    for c in changes:
        print(f"tier {c.tier_id}: {c.old_minor} -> {c.new_minor} ({c.reason})")
    print(f"{len(changes)} price(s) changed")
    return 0


def _rule_params(args: argparse.Namespace) -> dict[str, Any]:
    """--params as a checked rule, before anything else is asked (the PIN last)."""
    from core.errors import BoxOfficeError
    from core.pricing import validate_rule

    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise BoxOfficeError("invalid_rule", detail=f"--params is not valid JSON ({exc})") \
            from None
    if not isinstance(params, dict):
        raise BoxOfficeError("invalid_rule", detail="--params must be a JSON object, e.g."
                             ' \'{"steps": [[50, 10], [80, 25]]}\'')
    validate_rule(args.kind, params)
    return params


def cmd_add_rule(args: argparse.Namespace) -> int:
    from core.actors import Actor, authenticate, register_terminal, require_role
    from core.errors import BoxOfficeError
    from core.pricing import add_rule, price_report

    params = _rule_params(args)
    ctx = _ctx()
    ev = _event_id(ctx, args.event)
    section = None
    if args.section:
        from core.reservation import sections

        section = next((s.id for s in sections(ctx.engine, ev) if s.code == args.section), None)
        if section is None:
            raise BoxOfficeError("unknown_section", section_id=args.section)
    op = authenticate(ctx.engine, args.login, getpass.getpass(f"PIN for {args.login}: "))
    require_role(op, "supervisor", "admin")
    name = ctx.settings.terminal.name
    actor = Actor(register_terminal(ctx.engine, name, ctx.settings.terminal.kind), name,
                  op.id, op.role)
    rid = add_rule(ctx, actor, uuid.uuid4(), ev, args.kind, params, section)
    print(f"rule {rid} added; prices updated")
    lines, _ = price_report(ctx, ev)
    for ln in lines:
        if ln.clamp and (args.section is None or ln.section_code == args.section):
            print(f"  {ln.section_code}: {ln.clamp}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("pricing", help="dynamic pricing: tiers, rules, reprice")
    ps = p.add_subparsers(dest="sub", required=True)
    show = ps.add_parser("show", help="prices, floors, ceilings and rules per section")
    show.add_argument("--event", help="event code")
    show.set_defaults(func=cmd_show)
    ap = ps.add_parser("apply", help="reprice now (the worker does this every"
                       " pricing.interval_s seconds, 30 by default)")
    ap.add_argument("--event", help="event code (default: all on sale)")
    ap.set_defaults(func=cmd_apply)
    ar = ps.add_parser("add-rule", help="add a rule (asks for a supervisor PIN)")
    ar.add_argument("--event", required=True)
    ar.add_argument("--section", help="section code (default: every section)")
    ar.add_argument("--kind", choices=["occupancy", "last_minute"], required=True)
    ar.add_argument("--params", required=True,
                    help='JSON, e.g. \'{"steps": [[50, 10], [80, 25]]}\'')
    ar.add_argument("--login", required=True, help="supervisor login")
    ar.set_defaults(func=cmd_add_rule)
