"""``boxoffice event``: create, clone, publish, pause/resume/close, reschedule, cancel
(with refunds), list and show events; owed refunds and paying them out."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime
from typing import Any

from boxoffice_cli.backoffice_cmds import (
    actor,
    context,
    emit_json,
    key,
    money,
    safe,
    signed,
    table,
)


def _when(text: str) -> datetime:
    from core.errors import BoxOfficeError

    try:
        return datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise BoxOfficeError("invalid_input", detail=f"{text!r}: use 'YYYY-MM-DD HH:MM'"
                             " (the venue's local time)") from None


def _tier(text: str) -> Any:
    """SECTION=BASE or SECTION=BASE:FLOOR:CEILING, in currency units (250 or 250,00)."""
    from core.backoffice.events import TierSpec
    from core.errors import BoxOfficeError

    section, eq, prices = text.partition("=")
    parts = prices.split(":") if eq else []
    if not section or len(parts) not in (1, 3):
        raise BoxOfficeError("invalid_input", detail=f"--price {text!r}: use SECTION=BASE or"
                             " SECTION=BASE:FLOOR:CEILING")
    values = [money(p) for p in parts]
    return TierSpec(section.strip(), *values)


def _print_event(ev: Any) -> None:
    print(f"{ev.code}  {ev.name}  [{ev.status}]  room {ev.room}")
    print(f"  starts {ev.local(ev.starts_at)}  doors {ev.local(ev.doors_at)}"
          f"  ({ev.timezone})")
    print(f"  sales {ev.local(ev.sales_start)} .. {ev.local(ev.sales_end)}"
          f"  capacity {ev.capacity}, sold {ev.sold}, blocked {ev.blocked}"
          + (f", age {ev.min_age}+" if ev.min_age else ""))


@safe
def cmd_create(args: argparse.Namespace) -> int:
    from core.backoffice.events import EventSpec, create_event, publish

    spec = EventSpec(
        code=args.code, name=args.name, room=args.room, starts_at=_when(args.starts),
        tiers=tuple(_tier(t) for t in args.price),
        doors_at=_when(args.doors) if args.doors else None,
        sales_start=_when(args.sales_start) if args.sales_start else None,
        sales_end=_when(args.sales_end) if args.sales_end else None,
        currency=args.currency or "BRL", description=args.description or "",
        counter_hold_s=args.counter_hold, kiosk_hold_s=args.kiosk_hold, min_age=args.min_age,
        dynamic_pricing=not args.no_dynamic, price_approval_over_pct=args.approval_over_pct)
    ctx = context()
    who = actor(ctx, args)
    if args.currency is None:
        from dataclasses import replace

        spec = replace(spec, currency=ctx.settings.sales.currency)
    ev = create_event(ctx, who, key(args), spec)
    if args.publish:
        ev = publish(ctx, who, key(args) if args.key is None else _derived(args.key, "pub"),
                     ev.code)
    if args.json:
        emit_json(ev.to_json())
    else:
        _print_event(ev)
    return 0


def _derived(k: str, what: str) -> Any:
    import uuid

    return uuid.uuid5(uuid.UUID(k), what)


@safe
def cmd_clone(args: argparse.Namespace) -> int:
    from core.backoffice.events import clone_event

    ctx = context()
    count, days = (args.weekly, 7) if args.weekly else (args.count, args.every_days)
    made = clone_event(ctx, actor(ctx, args), key(args), args.source, count=count,
                       every_days=days, code_format=args.code_format, publish=args.publish)
    if args.json:
        emit_json([e.to_json() for e in made])
    else:
        table([[e.code, e.local(e.starts_at), e.status] for e in made],
              ["code", "starts", "status"])
    return 0


def _simple(action: str) -> Any:
    @safe
    def run(args: argparse.Namespace) -> int:
        from core.backoffice import events

        ctx = context()
        who = actor(ctx, args)
        if action == "publish":
            ev = events.publish(ctx, who, key(args), args.event)
        else:
            ev = events.set_sales(ctx, who, key(args), args.event, action)
        _print_event(ev)
        return 0

    return run


@safe
def cmd_reschedule(args: argparse.Namespace) -> int:
    from core.backoffice.events import reschedule

    ctx = context()
    ev = reschedule(ctx, actor(ctx, args), key(args), args.event, _when(args.starts),
                    doors_at=_when(args.doors) if args.doors else None)
    _print_event(ev)
    print("  tickets already sold stay valid; the gate and reprints show the new time")
    return 0


class _Bar:
    """A progress bar on standard error (plain text, one line redrawn)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, done: int, total: int, outcome: Any) -> None:
        if not self.enabled:
            if done == total or done % 50 == 0:
                print(f"  {done}/{total} orders", file=sys.stderr)
            return
        width = 30
        fill = width * done // max(total, 1)
        sys.stderr.write(f"\r  [{'#' * fill}{'.' * (width - fill)}] {done}/{total}"
                         f"  order {outcome.number}: {outcome.status}   ")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _print_summary(summary: Any, args: argparse.Namespace) -> None:
    from core.money import format_minor

    t = summary.totals()
    cur = summary.currency
    if args.json:
        emit_json(summary.to_json())
    else:
        print(f"{summary.code}: canceled — {t['orders']} order(s)")
        print(f"  card refunded   {t['card_refunded']:>5}  {format_minor(t['card_refunded_minor'], cur, 'en')}")  # noqa: E501
        print(f"  card pending    {t['card_pending']:>5}  {format_minor(t['card_pending_minor'], cur, 'en')}"  # noqa: E501
              + ("  (run the cancel again, or the worker retries)" if t["card_pending"] else ""))
        print(f"  cash owed       {t['cash_owed']:>5}  {format_minor(t['cash_owed_minor'], cur, 'en')}"  # noqa: E501
              + "  (paid at the counter: boxoffice event refunds-owed)")
        print(f"  comps voided    {t['comps_voided']:>5}")
        print(f"  refunded before {t['already_refunded']:>5}")
        print(f"  deferred        {t['deferred']:>5}"
              + ("  (card payment still settling: run the cancel again)" if t["deferred"]
                 else ""))
        print("  complete" if t["complete"] else "  NOT complete: run the same command again")
    if getattr(args, "summary", None):
        with open(args.summary, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["order_number", "order_id", "method", "amount_minor", "currency",
                        "status", "refund_id"])
            for o in summary.orders:
                w.writerow([o.number, o.order_id, o.method, o.amount_minor, cur, o.status,
                            o.refund_id or ""])
        print(f"  summary for accounting: {args.summary}", file=sys.stderr)


@safe
def cmd_cancel(args: argparse.Namespace) -> int:
    from core.backoffice.cancel import cancel_event
    from core.backoffice.events import get_event
    from core.errors import BoxOfficeError

    ctx = context()
    ev = get_event(ctx.engine, args.event).event
    if not args.yes:
        if not sys.stdin.isatty():
            raise BoxOfficeError("invalid_input", detail="add --yes to cancel without a"
                                 " question")
        answer = input(f"Cancel {ev.code} ({ev.name}, {ev.sold} sold) and refund every"
                       " buyer? Type the event code to confirm: ")
        if answer.strip() != ev.code:
            print("not canceled", file=sys.stderr)
            return 1
    who = actor(ctx, args)  # the PIN prompt: its proof signs the cancel (migration 0017)
    summary = cancel_event(ctx, who, key(args), ev.code, reason=args.reason,
                           progress=_Bar(not args.json), signed_in=args.signed_in)
    _print_summary(summary, args)
    return 0 if summary.complete else 3


@safe
def cmd_cancel_status(args: argparse.Namespace) -> int:
    from core.backoffice.cancel import cancel_summary

    _print_summary(cancel_summary(context().engine, args.event), args)
    return 0


@safe
def cmd_list(args: argparse.Namespace) -> int:
    from core.backoffice.events import list_events

    rows = list_events(context().engine, room=args.room, status=args.status)
    if args.json:
        emit_json([e.to_json() for e in rows])
        return 0
    table([[e.code, e.name, e.room, e.local(e.starts_at), e.status, e.sold, e.capacity]
           for e in rows], ["code", "name", "room", "starts", "status", "sold", "capacity"])
    return 0


@safe
def cmd_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from core.backoffice.events import get_event
    from core.money import format_minor

    d = get_event(context().engine, args.event)
    if args.json:
        emit_json({**d.event.to_json(), "tiers": [asdict(t) for t in d.tiers]})
        return 0
    _print_event(d.event)
    cur = d.event.currency
    table([[t.section, t.section_name, t.kind, format_minor(t.current_minor, cur, "en"),
            format_minor(t.base_minor, cur, "en"), format_minor(t.floor_minor, cur, "en"),
            format_minor(t.ceiling_minor, cur, "en")] for t in d.tiers],
          ["section", "name", "kind", "price now", "base", "floor", "ceiling"])
    return 0


@safe
def cmd_owed(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from core.backoffice.cancel import owed_refunds
    from core.money import format_minor

    rows = owed_refunds(context().engine, event=args.event, order_number=args.order)
    if args.json:
        emit_json([asdict(r) for r in rows])
        return 0
    table([[r.order_number, r.event, format_minor(r.amount_minor, r.currency, "en"),
            r.customer_name, r.refund_id] for r in rows],
          ["order", "event", "owed", "customer", "refund id"])
    return 0


@safe
def cmd_pay_refund(args: argparse.Namespace) -> int:
    from core.backoffice.cancel import pay_owed_refund
    from core.money import format_minor

    ctx = context()
    res = pay_owed_refund(ctx, actor(ctx, args), key(args), args.refund_id)
    print(f"paid out {format_minor(res['amount_minor'], res['currency'], 'en')} from this"
          " terminal's drawer")
    return 0


def register(sub: Any) -> None:
    e = sub.add_parser("event", help="events: create, clone, publish, pause, reschedule,"
                       " cancel", description="Events of a room. Times are the venue's local"
                       " time, 'YYYY-MM-DD HH:MM'; prices are currency units (250 or 250,00).")
    es = e.add_subparsers(dest="sub", required=True, metavar="COMMAND")
    c = signed(es.add_parser("create", help="a draft event in a room"))
    c.add_argument("--code", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--room", required=True)
    c.add_argument("--starts", required=True, help="'YYYY-MM-DD HH:MM', venue local time")
    c.add_argument("--doors", help="default: 45 minutes before")
    c.add_argument("--sales-start", help="default: now")
    c.add_argument("--sales-end", help="default: 30 minutes after the start")
    c.add_argument("--price", action="append", required=True, metavar="SECTION=BASE[:FLOOR:CEIL]",
                   help="one per section, e.g. ORQ=250:200:400")
    c.add_argument("--currency", help="default: sales.currency of the settings")
    c.add_argument("--description")
    c.add_argument("--counter-hold", type=int, metavar="SECONDS")
    c.add_argument("--kiosk-hold", type=int, metavar="SECONDS")
    c.add_argument("--min-age", type=int, help="age gate (kiosks ask for confirmation)")
    c.add_argument("--approval-over-pct", type=int, default=20,
                   help="a manual price change above this percent needs a second supervisor")
    c.add_argument("--no-dynamic", action="store_true", help="no automatic pricing rules")
    c.add_argument("--publish", action="store_true", help="put it on sale at once")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_create)
    cl = signed(es.add_parser("clone", help="copies of an event for recurring shows"))
    cl.add_argument("source", help="event code to copy")
    cl.add_argument("--weekly", type=int, metavar="N", help="N weekly shows (e.g. 12)")
    cl.add_argument("--count", type=int, default=1)
    cl.add_argument("--every-days", type=int, default=7)
    cl.add_argument("--code-format", default="{code}-{date:%Y%m%d}",
                    help="codes of the copies ({code}, {date:...}, {n})")
    cl.add_argument("--publish", action="store_true")
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(func=cmd_clone)
    for action, text in (("publish", "create its seats and put it on sale"),
                         ("pause", "stop sales for a moment (holds refused everywhere)"),
                         ("resume", "sell again after a pause"),
                         ("close", "end sales for good")):
        p = signed(es.add_parser(action, help=text))
        p.add_argument("event")
        p.set_defaults(func=_simple(action))
    r = signed(es.add_parser("reschedule", help="move the show (tickets stay valid)"))
    r.add_argument("event")
    r.add_argument("--starts", required=True)
    r.add_argument("--doors")
    r.set_defaults(func=cmd_reschedule)
    ca = signed(es.add_parser("cancel", help="cancel and refund every buyer (resumable)",
                              description="Stops sales, voids and revokes every ticket, refunds"
                              " card orders through the gateway and records cash orders as"
                              " owed at the counter. Run it again to resume after any"
                              " interruption: nothing is refunded twice."))
    ca.add_argument("event")
    ca.add_argument("--reason", required=True)
    ca.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    ca.add_argument("--summary", metavar="FILE.csv", help="write the per-order summary")
    ca.add_argument("--json", action="store_true")
    ca.set_defaults(func=cmd_cancel)
    cs = es.add_parser("cancel-status", help="what a cancellation did so far")
    cs.add_argument("event")
    cs.add_argument("--summary", metavar="FILE.csv")
    cs.add_argument("--json", action="store_true")
    cs.set_defaults(func=cmd_cancel_status)
    ls = es.add_parser("list", help="events with sales figures")
    ls.add_argument("--room")
    ls.add_argument("--status", choices=["draft", "on_sale", "paused", "closed", "canceled"])
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    sh = es.add_parser("show", help="one event with its price tiers")
    sh.add_argument("event")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)
    ow = es.add_parser("refunds-owed", help="cash refunds of canceled shows not paid out yet")
    ow.add_argument("--event")
    ow.add_argument("--order", type=int, help="order number the customer shows")
    ow.add_argument("--json", action="store_true")
    ow.set_defaults(func=cmd_owed)
    pr = signed(es.add_parser("pay-refund", help="pay an owed refund from this terminal's"
                              " open drawer"))
    pr.add_argument("refund_id")
    pr.set_defaults(func=cmd_pay_refund)
