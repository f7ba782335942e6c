"""``boxoffice kiosk``: the self-service kiosk, and ``boxoffice kiosk exclude`` to put a
customer identifier on the self-exclusion list. Imports are lazy (fast ``--help``)."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from boxoffice_cli import args as args_


def _kiosk_settings(args: argparse.Namespace) -> Any:
    from boxoffice_cli.main import _settings

    s = _settings()
    term = s.terminal.as_kind("kiosk")  # a name not given: the kiosk's default, kiosk-1
    if args.name:
        term = term.model_copy(update={"name": args.name})
    return s.model_copy(update={"terminal": term})


def cmd_kiosk(args: argparse.Namespace) -> int:
    if getattr(args, "sub", None) == "exclude":
        return cmd_exclude(args)
    from kiosk.app import run_kiosk

    return run_kiosk(_kiosk_settings(args))


def cmd_exclude(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from boxoffice_cli.main import _context
    from boxoffice_cli.sync_cmds import sign_in_supervisor
    from core.actors import system_actor
    from core.selfexclusion import add_exclusion, normalize

    normalize(args.identifier)  # a bad identifier is refused before the PIN is asked
    ctx = _context()
    # A supervisor's PIN, checked by the database (bo_authenticate) and consumed by the
    # function that adds the row: never an argument (it would show in ``ps``).
    op = sign_in_supervisor(ctx.engine, args.supervisor)
    actor = replace(system_actor(ctx.engine, "kiosk-admin"), operator_id=op.id, role=op.role)
    until = args.until
    row = add_exclusion(ctx.engine, actor, uuid.uuid4(), args.identifier, until=until,
                        source=args.source, approver=op)
    print(f"self-exclusion recorded (id {row}); until {until or 'further notice'}")
    return 0


def register(subparsers: Any) -> None:
    k = subparsers.add_parser("kiosk", help="the locked-down self-service kiosk")
    k.add_argument("--name", type=args_.terminal_name,
                   help="terminal name (default: terminal.name if set, else kiosk-1)")
    k.set_defaults(func=cmd_kiosk, sub=None)
    ks = k.add_subparsers(dest="sub")
    ex = ks.add_parser("exclude", help="put a customer identifier on the self-exclusion list")
    ex.add_argument("identifier", help="document or player-card number (stored hashed)")
    ex.add_argument("--until", type=args_.moment,
                    help="ISO date/time the exclusion ends (default: never)")
    ex.add_argument("--source", default="counter", help="who asked for it (counter, court...)")
    ex.add_argument("--supervisor", help="supervisor login (required; the PIN is asked for,"
                    " or read from standard input)")
    ex.set_defaults(func=cmd_kiosk)
