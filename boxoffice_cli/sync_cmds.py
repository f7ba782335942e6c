"""``boxoffice sync ...``, ``boxoffice lease ...`` and ``boxoffice bench sync``: the
offline journal, leases and their benchmark from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from boxoffice_cli import args as args_


def _terminal(with_cards: bool = False) -> Any:
    from core.actors import Actor, register_terminal
    from core.errors import BoxOfficeError
    from sync.terminal import OfflineTerminal
    from terminal.bootstrap import context_for, load_settings

    settings = load_settings()
    # No migrations check: this must answer while the central database is unreachable.
    ctx = context_for(settings, migrate=False)
    cards = None
    g = settings.gateway
    if with_cards and g.kind != "none" and (g.base_url or g.kind == "stripe"):
        from sync.cards import GatewayCardProcessor

        cards = GatewayCardProcessor(ctx.payment_gateway())
    term = settings.terminal
    try:
        tid = register_terminal(ctx.engine, term.name, term.kind)
    except BoxOfficeError:
        tid = _cached_terminal_id(settings)
    actor = Actor(terminal_id=tid, terminal_name=term.name)
    t = OfflineTerminal(ctx, actor, cards=cards)
    t.watch.probe_once()
    if t.online:
        t.refresh_leases()  # e.g. one a supervisor took for this terminal
    return t


def _cached_terminal_id(settings: Any) -> int:
    """Offline, the terminal's id comes from its journal (kept from the last online run)."""
    from core.errors import BoxOfficeError
    from sync.journal import Journal

    tid = Journal(settings.journal_path).terminal_id()
    if tid is None:
        raise BoxOfficeError("database_unavailable")
    return tid


def _fmt_age(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m{int(s % 60):02d}s"


def cmd_sync_status(args: argparse.Namespace) -> int:
    t = _terminal()
    st = t.status()
    if args.json:
        print(json.dumps(st, default=str))
        return 0
    print(f"terminal      {t.actor.terminal_name} (journal {t.journal.path})")
    print(f"online        {'yes' if st['online'] else 'NO (offline)'}  links: "
          + ", ".join(f"{k}={'up' if v else 'down'}" for k, v in st["links"].items()))
    print(f"queue depth   {st['queue_depth']} unsent, {st['flagged']} flagged for a supervisor")
    print(f"oldest unsent {_fmt_age(st['oldest_unsent_s'])}")
    print(f"offline cards {st['offline_card_total_minor']} (minor units, not yet charged)")
    if not st["leases"]:
        print("leases        none")
    for lease in st["leases"]:
        print(f"lease         {lease['lease_id']} event {lease['event_id']} {lease['kind']}"
              f" {lease['remaining']}/{lease['units']} left ({lease['status']})")
    return 0


def cmd_sync_push(args: argparse.Namespace) -> int:
    t = _terminal(with_cards=True)
    total = t.journal.depth()
    if args.plain:
        print(f"start {total}", flush=True)

        def progress(done: int, n: int, entry: Any) -> None:
            print(f"{done}/{n} {entry.command} {entry.key}", flush=True)

        rep = t.push(progress=progress, batch=args.batch)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}")) as bar:
            task = bar.add_task("", total=total)

            def progress(done: int, n: int, entry: Any) -> None:
                bar.update(task, completed=done, total=n, description=entry.command)

            rep = t.push(progress=progress, batch=args.batch)
    r = rep.replay
    print(f"applied {r.applied}, flagged {r.flagged}, still queued {r.remaining}"
          + (f", stopped: {r.stopped_by}" if r.stopped_by else "")
          + (f"; cards charged {rep.charged}, declined {rep.declined}"
             if rep.charged or rep.declined else ""))
    return 0 if r.stopped_by is None else 1


def cmd_sync_conflicts(args: argparse.Namespace) -> int:
    from core.leases.conflicts import list_conflicts, resolve_conflict

    t = _terminal()
    if args.resolve is not None:
        ok = resolve_conflict(t.ctx, _supervisor(t, args)[0], uuid.uuid4(), args.resolve,
                              args.note or "")
        print(f"conflict {args.resolve} " + ("resolved" if ok else "was resolved already"))
        return 0
    rows = list_conflicts(t.ctx.engine, include_resolved=args.all)
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(r) for r in rows], default=str))
        return 0
    if not rows:
        print("no offline commands waiting for a supervisor")
    for r in rows:
        p = r.payload
        what = (f"order {p.get('order_id')} {p.get('total_minor')} {p.get('currency')}"
                f" {p.get('payment_method')}" if r.command == "confirm_leased_sale" else r.command)
        print(f"#{r.id:<5} {r.created_at:%Y-%m-%d %H:%M} {r.terminal:<12} {r.error_code:<18}"
              f" {what}" + ("  (resolved)" if r.resolved_at else ""))
    return 0


def _event_section(t: Any, event: str, section: str | None) -> tuple[int, int | None]:
    from core.leases import resolve_codes

    return resolve_codes(t.ctx.engine, event, section)


def read_supervisor_pin(login: str) -> str:
    """The supervisor's PIN from a hidden prompt (getpass), or the first line of standard
    input in a script; never an argument (arguments show in ``ps``)."""
    from boxoffice_cli.backoffice_cmds import read_pin
    from core.errors import BoxOfficeError

    try:
        pin = read_pin(f"PIN for supervisor {login}: ")
    except EOFError:
        raise BoxOfficeError("pin_required") from None
    if not pin:
        raise BoxOfficeError("pin_required")
    return pin


def sign_in_supervisor(engine: Any, login: str | None) -> Any:
    """A supervisor signed in on this login: the PIN checked by the database
    (bo_authenticate, with its lock-out), whose one-use proof the database function of
    the approved change consumes."""
    from core.actors import authenticate, require_role
    from core.errors import BoxOfficeError

    if not login:
        raise BoxOfficeError("not_authorized", role="supervisor (--supervisor LOGIN)")
    op = authenticate(engine, login, read_supervisor_pin(login))
    require_role(op, "supervisor", "admin")
    return op


def _supervisor(t: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The terminal's actor as the signed-in supervisor, and the supervisor."""
    from dataclasses import replace

    op = sign_in_supervisor(t.ctx.engine, args.supervisor)
    return replace(t.actor, operator_id=op.id, role=op.role), op


def _terminal_id(t: Any, name: str) -> int:
    """Another terminal's id by name (any login reads the terminal list); the owner's
    URL registers a terminal not seen before."""
    from sqlalchemy import text

    from core.actors import register_terminal

    with t.ctx.engine.connect() as conn:
        tid = conn.execute(text("select id from terminals where name = :n"),
                           {"n": name}).scalar()
    return int(tid) if tid is not None else register_terminal(t.ctx.engine, name, "cashier")


def cmd_lease_take(args: argparse.Namespace) -> int:
    from core.errors import BoxOfficeError
    from core.leases import take_lease

    t = _terminal()
    event_id, section_id = _event_section(t, args.event, args.section)
    seats = args.seats or None
    key = uuid.uuid4()
    # A lease takes places off general sale: the database grants one only with a
    # supervisor's PIN typed here (a renewal of the same lease excepted).
    if not args.supervisor:
        raise BoxOfficeError("lease_needs_supervisor")
    actor, op = _supervisor(t, args)
    if args.for_terminal:
        target = _terminal_id(t, args.for_terminal)
        info = take_lease(t.ctx, actor, key, event_id, terminal_id=target, seat_ids=seats,
                          section_id=section_id, quantity=args.quantity, approver=op)
        print(f"lease {info.lease_id} for {args.for_terminal}: {info.units} place(s);"
              " that terminal picks it up on its next start")
        return 0
    t.ctx.signer()  # registers this terminal's public key, so gates trust its tickets
    info = take_lease(t.ctx, actor, key, event_id, seat_ids=seats, section_id=section_id,
                      quantity=args.quantity, approver=op)
    t.leases.save(info)
    print(f"lease {info.lease_id}: {info.units} place(s) of event {args.event}"
          f" ({info.kind}) set aside for {t.actor.terminal_name}")
    return 0


def cmd_lease_return(args: argparse.Namespace) -> int:
    from core.leases import return_lease

    t = _terminal()
    if args.revoke:
        if not args.lease:
            print("boxoffice: --revoke needs --lease", file=sys.stderr)
            return 2
        actor, op = _supervisor(t, args)
        res = return_lease(t.ctx, actor, uuid.uuid4(), args.lease, revoke=True, approver=op)
        print(f"lease {res.lease_id} {res.status}: {res.returned_units} place(s) back on sale")
        return 0
    n = t.return_leases()
    rep = t.last_push
    print(f"{n} lease(s) queued for return"
          + (f"; {rep.replay.applied} command(s) applied" if rep else " (offline: on reconnect)"))
    return 0


def cmd_bench_sync(args: argparse.Namespace) -> int:
    from config import load_settings
    from sync.bench import run_bench

    result = run_bench(load_settings(), commands=args.commands, batch=args.batch,
                       threads=args.threads)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:<22} {v}")
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


def register(sub: Any) -> None:
    sy = sub.add_parser("sync", help="offline journal: status and replay")
    sy_sub = sy.add_subparsers(dest="sub", required=True)
    st = sy_sub.add_parser("status", help="online?, queue depth, oldest unsent, leases")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_sync_status)
    pu = sy_sub.add_parser("push", help="replay the journal now")
    pu.add_argument("--plain", action="store_true", help="one line per command, no bar")
    pu.add_argument("--batch", type=int, default=None,
                    help="sales per central transaction (default 8)")
    pu.set_defaults(func=cmd_sync_push)

    co = sy_sub.add_parser("conflicts", help="offline sales that could not apply (supervisor)")
    co.add_argument("--all", action="store_true", help="include resolved ones")
    co.add_argument("--json", action="store_true")
    co.add_argument("--resolve", type=int, help="mark this conflict as dealt with")
    co.add_argument("--note", help="what was done (refund, re-seat...)")
    co.add_argument("--supervisor", help="supervisor login (the PIN is asked for)")
    co.set_defaults(func=cmd_sync_conflicts)

    le = sub.add_parser("lease", help="seats or a GA quota set aside for offline sales")
    le_sub = le.add_subparsers(dest="sub", required=True)
    tk = le_sub.add_parser("take", help="take a lease (online)")
    tk.add_argument("--event", required=True, help="event code, e.g. SINATRA")
    tk.add_argument("--section", help="section code (with --quantity)")
    tk.add_argument("--quantity", type=args_.quantity,
                    help="best seats, or GA places, of the section")
    tk.add_argument("--seats", type=args_.id_list, help="comma-separated seat ids")
    tk.add_argument("--for-terminal", help="lease for another terminal")
    tk.add_argument("--supervisor", help="supervisor login (required; the PIN is asked for,"
                    " or read from standard input)")
    tk.set_defaults(func=cmd_lease_take)
    rt = le_sub.add_parser("return", help="return the unsold part of this terminal's leases")
    rt.add_argument("--lease", help="lease id (with --revoke)")
    rt.add_argument("--revoke", action="store_true", help="end a lease of any terminal")
    rt.add_argument("--supervisor", help="supervisor login, with --revoke (the PIN is asked"
                    " for)")
    rt.set_defaults(func=cmd_lease_return)

    from boxoffice_cli.main import subcommands_of

    b_sub = subcommands_of(sub, "bench")
    if b_sub is not None:
        bs = b_sub.add_parser("sync", help="journal appends, fsync limit, replay rate")
        bs.add_argument("--commands", type=int, default=1000)
        bs.add_argument("--threads", type=int, default=8,
                        help="tills appending at once (group commit batches them)")
        bs.add_argument("--batch", type=int, default=None,
                        help="sales per central transaction during the replay (default 8)")
        bs.add_argument("--json", action="store_true")
        bs.set_defaults(func=cmd_bench_sync)


