"""``boxoffice outbox``: what waits to be delivered, what was parked, and sending parked
messages again (the worker delivers; see docs/integration.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _ctx() -> Any:
    from boxoffice_cli.main import _context

    return _context()


def cmd_list(args: argparse.Namespace) -> int:
    from core.outbox import admin

    ctx = _ctx()
    rows = admin.list_messages(ctx.engine, args.status, args.limit)
    if args.json:
        print(json.dumps({"counts": admin.counts(ctx.engine),
                          "messages": [r.to_json() for r in rows]}))
        return 0
    c = admin.counts(ctx.engine)
    print(f"pending {c['pending']}  parked {c['parked']}  sent {c['sent']}")
    for r in rows:
        when = (r.sent_at or r.parked_at or r.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r.id:>8}  {r.status:<7} {r.channel:<6} {r.kind:<18} tries {r.attempts:<3}"
              f" {when}  {r.message_id}")
        if r.last_error and r.status != "sent":
            print(f"{'':>10}last error: {r.last_error}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from core.errors import BoxOfficeError
    from core.outbox import admin

    if not args.ids and not args.all:
        raise BoxOfficeError("invalid_input", detail="give message ids or --all")
    ctx = _ctx()
    done = admin.retry(ctx.engine, None if args.all else args.ids)
    if args.json:
        print(json.dumps({"requeued": done}))
    else:
        print(f"{len(done)} parked message(s) queued again: "
              + (", ".join(str(i) for i in done) or "none"))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="messages to RabbitMQ and customers: list, retry")
    ps = p.add_subparsers(dest="sub", required=True)
    ls = ps.add_parser("list", help="pending, parked or sent messages, newest first")
    ls.add_argument("--status", choices=["pending", "parked", "sent", "all"],
                    default="pending")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    rt = ps.add_parser("retry", help="queue parked messages again (fresh attempts)")
    rt.add_argument("ids", nargs="*", type=int, help="outbox ids (see outbox list)")
    rt.add_argument("--all", action="store_true", help="every parked message")
    rt.add_argument("--json", action="store_true")
    rt.set_defaults(func=cmd_retry)
