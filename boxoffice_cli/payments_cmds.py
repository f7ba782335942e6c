"""``boxoffice gateway-sandbox``, ``boxoffice bench checkout``, ``boxoffice shift ...`` and
``boxoffice sales recover``, ``boxoffice payments reconcile``: payments from the command
line."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from boxoffice_cli import args as args_


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


def cmd_gateway_sandbox(args: argparse.Namespace) -> int:
    from core.payments.sandbox import SandboxServer

    server = SandboxServer(args.port, seed=args.seed)
    faults = {k: v for k, v in {
        "latency_ms": args.latency_ms, "error_rate": args.error_rate,
        "timeout_rate": args.timeout_rate, "hang_s": args.hang_s,
        "ambiguous_rate": args.ambiguous_rate}.items() if v is not None}
    if faults:
        from core.payments.sandbox.server import Faults

        server.state.faults = Faults(**{**server.state.faults.__dict__, **faults})
    print(f"sandbox gateway on {server.base_url} (Stripe PaymentIntents subset;"
          f" faults: POST {server.base_url}/_sandbox/faults, ledger: GET"
          f" {server.base_url}/_sandbox/ledger)", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


def cmd_bench_checkout(args: argparse.Namespace) -> int:
    from config import load_settings
    from core.bench.checkout import run_bench

    result = run_bench(load_settings(), workers=args.workers, seconds=args.seconds)
    _print(result, args.json)
    return 0 if result["double_charges"] == 0 and result["orphans"] == 0 else 1


def _actor(args: argparse.Namespace) -> Any:
    from boxoffice_cli.backoffice_cmds import read_pin
    from boxoffice_cli.main import _context
    from core.actors import Actor, authenticate, register_terminal
    from core.errors import BoxOfficeError

    ctx = _context()
    try:
        # Never an argument: arguments show in ``ps``. A script gives it on standard input.
        pin = read_pin(f"PIN for {args.login}: ")
    except EOFError:
        raise BoxOfficeError("pin_required") from None
    op = authenticate(ctx.engine, args.login, pin)
    name = ctx.settings.terminal.name
    tid = register_terminal(ctx.engine, name, ctx.settings.terminal.kind)
    return ctx, Actor(tid, name, op.id, op.role, "counter")


def cmd_shift_open(args: argparse.Namespace) -> int:
    from core.sales import open_shift

    ctx, actor = _actor(args)
    info = open_shift(ctx, actor, uuid.uuid4(), args.float)
    _print(info.to_json(), args.json)
    return 0


def _supervisor_pin(login: str) -> Any:
    from boxoffice_cli.sync_cmds import read_supervisor_pin
    from core.sales import SupervisorPin

    return SupervisorPin(login, read_supervisor_pin(login))


def cmd_shift_close(args: argparse.Namespace) -> int:
    from core.sales import close_shift

    ctx, actor = _actor(args)
    approver = _supervisor_pin(args.supervisor) if args.supervisor else None
    res = close_shift(ctx, actor, uuid.uuid4(), args.counted, approver=approver,
                      reason_code=args.reason)
    _print(res.to_json(), args.json)
    return 0


def cmd_shift_approve(args: argparse.Namespace) -> int:
    from core.sales import approve_variance, current_shift

    ctx, actor = _actor(args)
    cur = current_shift(ctx, actor)
    if cur is None:
        print("no shift waiting for approval on this terminal", file=sys.stderr)
        return 1
    res = approve_variance(ctx, actor, uuid.uuid4(), cur.shift_id,
                           _supervisor_pin(args.supervisor), args.reason)
    _print(res.to_json(), args.json)
    return 0


def cmd_shift_move(args: argparse.Namespace) -> int:
    from core.sales.shifts import move_cash

    ctx, actor = _actor(args)
    move = move_cash(ctx, actor, uuid.uuid4(), args.kind, args.amount,
                     approver=_supervisor_pin(args.supervisor), reason_code=args.reason)
    _print(move.to_json(), args.json)
    return 0


def cmd_shift_report(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from core.sales import current_shift, x_report, z_report

    ctx, actor = _actor(args)
    shift_id = args.shift
    if shift_id is None:
        cur = current_shift(ctx, actor)
        if cur is None:
            print("no open shift on this terminal", file=sys.stderr)
            return 1
        shift_id = cur.shift_id
    rep = z_report(ctx, shift_id) if args.z else x_report(ctx, shift_id)
    data = asdict(rep)
    data["by_tender"] = {k: {**asdict(v), "net_minor": v.net_minor}
                         for k, v in rep.by_tender.items()}
    _print(data, args.json)
    return 0


def cmd_sales_recover(args: argparse.Namespace) -> int:
    from boxoffice_cli.main import _context
    from core.sales import recover_stuck_sales

    rep = recover_stuck_sales(_context(), older_than_s=args.older_than)
    _print(rep.to_json(), args.json)
    return 0 if rep.still_stuck == 0 else 1


def cmd_payments_reconcile(args: argparse.Namespace) -> int:
    """Check every open card order against the gateway now (the worker does it every
    pass); exit 1 when a payment did not reconcile or could not be checked."""
    from boxoffice_cli.main import _settings
    from core.errors import BoxOfficeError
    from core.sales.reconcile import reconcile_payments
    from terminal.bootstrap import terminal_context

    try:
        rep = reconcile_payments(terminal_context(_settings()), limit=args.limit)
    except BoxOfficeError as exc:
        print(exc.message(), file=sys.stderr)
        return 2
    _print(rep.to_json(), args.json)
    return 0 if rep.unverified == 0 and rep.errors == 0 else 1


def _operator_args(p: argparse.ArgumentParser) -> None:
    # The operator's PIN (and a supervisor's) is asked at a hidden prompt, or read from
    # standard input one per line in a script: never a command-line argument.
    p.add_argument("--login", required=True)
    p.add_argument("--json", action="store_true")


def register(sub: Any) -> None:
    gs = sub.add_parser("gateway-sandbox",
                        help="run the sandbox card gateway (Stripe subset) on loopback")
    gs.add_argument("--port", type=int, default=12111)
    gs.add_argument("--seed", type=int, default=None, help="seed for injected faults")
    gs.add_argument("--latency-ms", type=float)
    gs.add_argument("--error-rate", type=float, help="share of requests answered 500")
    gs.add_argument("--timeout-rate", type=float, help="share of requests that hang")
    gs.add_argument("--hang-s", type=float, help="how long a hanging request hangs")
    gs.add_argument("--ambiguous-rate", type=float,
                    help="share of requests executed, then the connection dropped")
    gs.set_defaults(func=cmd_gateway_sandbox)

    from boxoffice_cli.main import subcommands_of

    b_sub = subcommands_of(sub, "bench")
    if b_sub is not None:
        bc = b_sub.add_parser("checkout", help="whole card checkouts against the sandbox")
        bc.add_argument("--workers", type=int, default=8)
        bc.add_argument("--seconds", type=float, default=10.0)
        bc.add_argument("--json", action="store_true")
        bc.set_defaults(func=cmd_bench_checkout)

    sh = sub.add_parser("shift", help="cash drawer: open, close (blind count), X/Z report")
    sh_sub = sh.add_subparsers(dest="sub", required=True)
    so = sh_sub.add_parser("open", help="open this terminal's shift with a float")
    _operator_args(so)
    so.add_argument("--float", required=True, type=args_.amount, help="opening float, e.g. 200,00")
    so.set_defaults(func=cmd_shift_open)
    sc = sh_sub.add_parser("close", help="close with the counted cash (blind count)")
    _operator_args(sc)
    sc.add_argument("--counted", required=True, type=args_.amount,
                    help="cash counted in the drawer")
    sc.add_argument("--supervisor", help="supervisor login approving a variance (PIN asked)")
    sc.add_argument("--reason", help="variance reason code")
    sc.set_defaults(func=cmd_shift_close)
    sp = sh_sub.add_parser("approve", help="supervisor accepts a counted shift's variance")
    _operator_args(sp)
    sp.add_argument("--supervisor", required=True, help="supervisor login (PIN asked)")
    sp.add_argument("--reason", required=True,
                    help="counting_error, change_error, missing_cash, surplus_cash, other")
    sp.set_defaults(func=cmd_shift_approve)
    for kind, verb in (("paid_in", "pay-in"), ("paid_out", "pay-out")):
        sm = sh_sub.add_parser(verb, help=f"{verb} cash {'into' if kind == 'paid_in' else 'out of'}"
                               " the open drawer, with a supervisor's PIN")
        _operator_args(sm)
        sm.add_argument("--amount", required=True, type=args_.amount, help="e.g. 150,00")
        sm.add_argument("--supervisor", required=True, help="supervisor login (PIN asked)")
        sm.add_argument("--reason", required=True,
                        help="bank_drop, change_fund, petty_cash, supplier, other")
        sm.set_defaults(func=cmd_shift_move, kind=kind)
    sr = sh_sub.add_parser("report", help="X report (open shift) or Z report (--z)")
    _operator_args(sr)
    sr.add_argument("--shift", help="shift id (default: this terminal's open shift)")
    sr.add_argument("--z", action="store_true")
    sr.set_defaults(func=cmd_shift_report)

    sa = sub.add_parser("sales", help="sale saga maintenance")
    sa_sub = sa.add_subparsers(dest="sub", required=True)
    rc = sa_sub.add_parser("recover", help="finish or compensate stuck sales now")
    rc.add_argument("--older-than", type=float, default=None,
                    help="seconds a sale must have been idle (default sales.stuck_after_s)")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_sales_recover)

    pm = sub.add_parser("payments", help="card payments: reconcile with the gateway")
    pm_sub = pm.add_subparsers(dest="sub", required=True)
    pr = pm_sub.add_parser("reconcile", help="check card orders against the gateway now"
                           " (run as the worker's login, which holds the gateway's keys)")
    pr.add_argument("--limit", type=int, default=500, help="orders checked in this run")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_payments_reconcile)
