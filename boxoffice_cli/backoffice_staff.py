"""``boxoffice operator``: add, disable/enable, change role, reset PIN, list."""

from __future__ import annotations

import argparse
from typing import Any

from boxoffice_cli.backoffice_cmds import (
    actor,
    context,
    emit_json,
    key,
    new_pin,
    safe,
    signed,
    table,
)


@safe
def cmd_add(args: argparse.Namespace) -> int:
    from core.backoffice import staff

    ctx = context()
    if args.first_admin:
        from core.actors import system_actor

        pin = new_pin(args.new_login)
        oid = staff.bootstrap_admin(ctx, system_actor(ctx.engine, "backoffice-setup"),
                                    key(args), args.new_login, args.name, pin)
        print(f"admin {args.new_login} created (id {oid}); sign in with"
              f" --login {args.new_login}")
        return 0
    who = actor(ctx, args)
    pin = new_pin(args.new_login)  # typed by the new operator, never shown
    oid = staff.add_operator(ctx, who, key(args), args.new_login, args.name, args.role, pin)
    print(f"{args.role} {args.new_login} added (id {oid})")
    return 0


def _active(active: bool) -> Any:
    @safe
    def run(args: argparse.Namespace) -> int:
        from core.backoffice import staff

        ctx = context()
        staff.set_active(ctx, actor(ctx, args), key(args), args.operator, active)
        print(f"{args.operator} {'enabled' if active else 'disabled'}")
        return 0

    return run


@safe
def cmd_role(args: argparse.Namespace) -> int:
    from core.backoffice import staff

    ctx = context()
    staff.set_role(ctx, actor(ctx, args), key(args), args.operator, args.role)
    print(f"{args.operator} is now {args.role}")
    return 0


@safe
def cmd_reset_pin(args: argparse.Namespace) -> int:
    from core.backoffice import staff

    ctx = context()
    who = actor(ctx, args)
    print(f"Hand the keyboard to {args.operator}: they type their new PIN (it is not shown).")
    staff.reset_pin(ctx, who, key(args), args.operator, new_pin(args.operator))
    print(f"PIN of {args.operator} changed; any lock-out is cleared")
    return 0


@safe
def cmd_list(args: argparse.Namespace) -> int:
    from core.backoffice import staff

    rows = staff.list_operators(context().engine, include_disabled=not args.active)
    if args.json:
        emit_json([r.to_json() for r in rows])
        return 0
    table([[r.login, r.display_name, r.role, "yes" if r.active else "DISABLED",
            "locked" if r.locked else "",
            r.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if r.last_sign_in_at else "never"]
           for r in rows], ["login", "name", "role", "active", "lock", "last sign-in (UTC)"])
    return 0


def register(sub: Any) -> None:
    o = sub.add_parser("operator", help="staff: add, disable, role, reset PIN, list",
                       description="Cashiers, supervisors and admins. Only an admin manages"
                       " staff; at least one active admin always remains. PINs are typed"
                       " at a hidden prompt, never given as arguments.")
    os_ = o.add_subparsers(dest="sub", required=True, metavar="COMMAND")
    a = os_.add_parser("add", help="add an operator (the new PIN is typed twice)")
    a.add_argument("new_login", metavar="LOGIN")
    a.add_argument("--name", required=True, help="display name")
    a.add_argument("--role", choices=["cashier", "supervisor", "admin"], default="cashier")
    a.add_argument("--first-admin", action="store_true",
                   help="fresh install: create the first admin (refused once one exists)")
    signed(a)
    a.set_defaults(func=cmd_add)
    for name, active in (("disable", False), ("enable", True)):
        d = signed(os_.add_parser(name, help=f"{name} an operator"))
        d.add_argument("operator")
        d.set_defaults(func=_active(active))
    r = signed(os_.add_parser("role", help="change an operator's role"))
    r.add_argument("operator")
    r.add_argument("role", choices=["cashier", "supervisor", "admin"])
    r.set_defaults(func=cmd_role)
    p = signed(os_.add_parser("reset-pin", help="set a new PIN typed by the operator"))
    p.add_argument("operator")
    p.set_defaults(func=cmd_reset_pin)
    ls = os_.add_parser("list", help="operators with role and last sign-in")
    ls.add_argument("--active", action="store_true", help="only active ones")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
