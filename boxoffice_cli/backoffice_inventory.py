"""``boxoffice seats`` (block, unblock/release, GA capacity, comps) and ``boxoffice
price`` (set a price now, approvals, dynamic rules, history) while an event sells."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from boxoffice_cli.backoffice_cmds import (
    actor,
    context,
    emit_json,
    key,
    money,
    read_pin,
    safe,
    signed,
    table,
)

SEATS_HELP = ("seats as SECTION:ROW-NUMBER (ORQ:A-12), a whole row SECTION:ROW (ORQ:A), or"
              " seat ids")


def _report(res: Any, verb: str, as_json: bool) -> None:
    if as_json:
        emit_json(res.to_json())
        return
    print(f"{len(res.changed)} seat(s) {verb}")
    for status, ids in res.skipped.items():
        print(f"  left alone, {status}: {len(ids)} ({', '.join(map(str, ids[:10]))}"
              f"{'...' if len(ids) > 10 else ''})")


@safe
def cmd_block(args: argparse.Namespace) -> int:
    from core.backoffice.inventory import block_seats, seat_ids_for

    ctx = context()
    ids = seat_ids_for(ctx.engine, args.event, args.seats)
    res = block_seats(ctx, actor(ctx, args), key(args), args.event, ids, reason=args.reason,
                      kind=args.kind)
    _report(res, "blocked", args.json)
    return 0


@safe
def cmd_unblock(args: argparse.Namespace) -> int:
    from core.backoffice.inventory import seat_ids_for, unblock_seats
    from core.errors import BoxOfficeError

    if not args.seats and not args.kind and not args.all:
        raise BoxOfficeError("invalid_input", detail="name seats, --kind KIND or --all")
    ctx = context()
    ids = seat_ids_for(ctx.engine, args.event, args.seats) if args.seats else None
    res = unblock_seats(ctx, actor(ctx, args), key(args), args.event, ids, kind=args.kind,
                        reason=args.reason)
    _report(res, "back on sale", args.json)
    return 0


@safe
def cmd_blocked(args: argparse.Namespace) -> int:
    from core.backoffice.inventory import blocked_seats

    rows = blocked_seats(context().engine, args.event)
    if args.json:
        emit_json([asdict(r) for r in rows])
        return 0
    table([[f"{r.section}:{r.row}-{r.number}", r.kind, r.reason, r.operator,
            r.at.strftime("%Y-%m-%d %H:%M") if r.at else ""]
           for r in rows], ["seat", "kind", "reason", "by", "at (UTC)"])
    return 0


@safe
def cmd_capacity(args: argparse.Namespace) -> int:
    from core.backoffice.inventory import set_ga_capacity

    ctx = context()
    res = set_ga_capacity(ctx, actor(ctx, args), key(args), args.event, args.section,
                          args.capacity)
    print(f"{args.section}: capacity {res.capacity} (held {res.held}, sold {res.sold},"
          f" leased {res.leased})")
    return 0


@safe
def cmd_comp(args: argparse.Namespace) -> int:
    from core.backoffice.inventory import issue_comp, seat_ids_for

    ctx = context()
    ids = seat_ids_for(ctx.engine, args.event, args.seats) if args.seats else None
    res = issue_comp(ctx, actor(ctx, args), key(args), args.event, reason=args.reason,
                     seat_ids=ids, ga_section=args.section, quantity=args.quantity or 0,
                     recipient=args.recipient)
    if args.json:
        emit_json(res.to_json())
    else:
        print(f"comp order {res.number}: {len(res.serials)} ticket(s), serials"
              f" {', '.join(map(str, res.serials))}")
        print("  print them from the counter's orders screen like any order")
    return 0


@safe
def cmd_price_set(args: argparse.Namespace) -> int:
    from core.backoffice.prices import override_price
    from core.money import format_minor
    from core.sales import SupervisorPin

    ctx = context()
    who = actor(ctx, args)
    approver = SupervisorPin(args.approver, read_pin(f"PIN for {args.approver}: ")) \
        if args.approver else None
    res = override_price(ctx, who, key(args), args.event, args.section, money(args.price),
                         reason=args.reason, approver=approver)
    if args.json:
        emit_json(res.to_json())
    elif res.status == "pending":
        print(f"the change is over the event's threshold: waiting for a second supervisor"
              f" (boxoffice price approve {res.request_id})")
    else:
        cur = ctx.settings.sales.currency
        print(f"{args.section}: {format_minor(res.old_minor, cur, 'en')} ->"
              f" {format_minor(res.new_minor, cur, 'en')} from the next hold on")
    return 0


def _decide(approve: bool) -> Any:
    @safe
    def run(args: argparse.Namespace) -> int:
        from core.backoffice.prices import decide_request

        ctx = context()
        who = actor(ctx, args)
        res = decide_request(ctx, who, key(args), args.request_id, approve=approve,
                             approver=getattr(args, "signed_in", None))
        print(f"request {res.request_id}: {res.status}")
        return 0

    return run


@safe
def cmd_requests(args: argparse.Namespace) -> int:
    from core.backoffice.prices import price_requests

    rows = price_requests(context().engine, event=args.event,
                          status=None if args.all else "pending")
    if args.json:
        emit_json([asdict(r) for r in rows])
        return 0
    from core.money import format_minor

    cur = context().settings.sales.currency
    table([[r.id, r.event, r.section, format_minor(r.old_minor, cur, "en"),
            format_minor(r.new_minor, cur, "en"), r.requested_by, r.status,
            r.reason] for r in rows],
          ["request", "event", "section", "old", "new", "by", "status", "reason"])
    return 0


@safe
def cmd_dynamic(args: argparse.Namespace) -> int:
    from core.backoffice.prices import set_dynamic

    ctx = context()
    res = set_dynamic(ctx, actor(ctx, args), key(args), args.event, args.state == "on")
    print(f"dynamic pricing {args.state}: {res['rules']} rule(s),"
          f" {len(res['repriced'])} section(s) back to base")
    return 0


@safe
def cmd_history(args: argparse.Namespace) -> int:
    from core.backoffice.events import get_event
    from core.backoffice.prices import price_history
    from core.money import format_minor

    ctx = context()
    rows = price_history(ctx.engine, args.event)
    if args.json:
        emit_json([asdict(r) for r in rows])
        return 0
    cur = get_event(ctx.engine, args.event).event.currency
    table([[r.at.strftime("%Y-%m-%d %H:%M"), r.section, format_minor(r.old_minor, cur, "en"),
            format_minor(r.new_minor, cur, "en"),
            r.changed_by or "rules", r.approved_by, r.reason] for r in rows],
          ["at (UTC)", "section", "old", "new", "by", "approved by", "reason"])
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("seats", help="block, release, GA capacity and comps for an event")
    ss = s.add_subparsers(dest="sub", required=True, metavar="COMMAND")
    b = signed(ss.add_parser("block", help="take free seats off sale, with a reason"))
    b.add_argument("event")
    b.add_argument("seats", nargs="+", help=SEATS_HELP)
    b.add_argument("--reason", required=True)
    b.add_argument("--kind", choices=["house", "press", "technical", "other"], default="house")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_block)
    for name, text in (("unblock", "put blocked seats back on sale"),
                       ("release", "release blocked seats to sale (e.g. --kind house)")):
        u = signed(ss.add_parser(name, help=text))
        u.add_argument("event")
        u.add_argument("seats", nargs="*", help=SEATS_HELP)
        u.add_argument("--kind", choices=["house", "press", "technical", "other"],
                       help="every blocked seat of this kind")
        u.add_argument("--all", action="store_true", help="every blocked seat")
        u.add_argument("--reason", default="released to sale")
        u.add_argument("--json", action="store_true")
        u.set_defaults(func=cmd_unblock)
    ls = ss.add_parser("blocked", help="blocked seats with kind, reason and who")
    ls.add_argument("event")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_blocked)
    c = signed(ss.add_parser("capacity", help="set a GA section's capacity for an event"
                             " (never below held + sold + leased)"))
    c.add_argument("event")
    c.add_argument("section")
    c.add_argument("capacity", type=int)
    c.set_defaults(func=cmd_capacity)
    cp = signed(ss.add_parser("comp", help="complimentary tickets (price zero, reason kept)"))
    cp.add_argument("event")
    cp.add_argument("seats", nargs="*", help=SEATS_HELP)
    cp.add_argument("--section", help="GA section (with --quantity)")
    cp.add_argument("--quantity", type=int)
    cp.add_argument("--reason", required=True)
    cp.add_argument("--recipient")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_comp)

    p = sub.add_parser("price", help="set prices by hand, approvals, dynamic rules, history")
    ps = p.add_subparsers(dest="sub", required=True, metavar="COMMAND")
    st = signed(ps.add_parser("set", help="a section's price now (within floor and ceiling)"))
    st.add_argument("event")
    st.add_argument("section")
    st.add_argument("price", help="currency units, e.g. 275 or 275,00")
    st.add_argument("--reason", required=True)
    st.add_argument("--approver", metavar="LOGIN",
                    help="a second supervisor types their PIN now (over the threshold)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_price_set)
    rq = ps.add_parser("requests", help="price changes waiting for a second supervisor")
    rq.add_argument("--event")
    rq.add_argument("--all", action="store_true", help="decided ones too")
    rq.add_argument("--json", action="store_true")
    rq.set_defaults(func=cmd_requests)
    for name, approve in (("approve", True), ("reject", False)):
        a = signed(ps.add_parser(name, help=f"{name} a pending change (not your own)"))
        a.add_argument("request_id")
        a.set_defaults(func=_decide(approve))
    dy = signed(ps.add_parser("dynamic", help="switch the event's automatic rules on or off"))
    dy.add_argument("event")
    dy.add_argument("state", choices=["on", "off"])
    dy.set_defaults(func=cmd_dynamic)
    hi = ps.add_parser("history", help="every price change: who, when, why, approved by")
    hi.add_argument("event")
    hi.add_argument("--json", action="store_true")
    hi.set_defaults(func=cmd_history)
