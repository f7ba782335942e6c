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


def cmd_show(args: argparse.Namespace) -> int:
    from core.money import format_minor
    from core.reservation import sections, upcoming_events

    ctx = _ctx()
    events = [e for e in upcoming_events(ctx.engine) if not args.event or e.code == args.event]
    for e in events:
        print(f"{e.code}  {e.name}  ({e.sold} sold / {e.capacity})")
        for s in sections(ctx.engine, e.id):
            if s.price_minor is not None:
                print(f"    {s.code:<10} {s.name:<22} {format_minor(s.price_minor, e.currency)}")
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


def cmd_add_rule(args: argparse.Namespace) -> int:
    from core.actors import Actor, authenticate, register_terminal, require_role
    from core.pricing import add_rule

    ctx = _ctx()
    op = authenticate(ctx.engine, args.login, getpass.getpass(f"PIN for {args.login}: "))
    require_role(op, "supervisor", "admin")
    name = ctx.settings.terminal.name
    actor = Actor(register_terminal(ctx.engine, name, ctx.settings.terminal.kind), name,
                  op.id, op.role)
    section = None
    if args.section:
        from core.reservation import sections

        ev = _event_id(ctx, args.event)
        section = next((s.id for s in sections(ctx.engine, ev) if s.code == args.section), None)
    rid = add_rule(ctx, actor, uuid.uuid4(), _event_id(ctx, args.event), args.kind,
                   json.loads(args.params), section)
    print(f"rule {rid} added; prices updated")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("pricing", help="dynamic pricing: tiers, rules, reprice")
    ps = p.add_subparsers(dest="sub", required=True)
    show = ps.add_parser("show", help="current prices per section")
    show.add_argument("--event", help="event code")
    show.set_defaults(func=cmd_show)
    ap = ps.add_parser("apply", help="reprice now (the worker does this every 30 s)")
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
