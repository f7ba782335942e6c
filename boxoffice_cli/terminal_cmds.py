"""``boxoffice terminal add|revoke|list``: one database login per terminal, run with the
owner's database URL. Imports are lazy (fast ``--help``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# admin: the back office's login (a monitor that may also manage rooms, events, staff).
KINDS = ("cashier", "kiosk", "monitor", "gate", "worker", "admin")
# The kinds a terminal's config file may name (the others run `boxoffice gate|worker`).
_CONFIG_KINDS = ("cashier", "kiosk", "monitor")


def _owner_engine() -> Any:
    from boxoffice_cli.main import _context

    return _context(migrate=False).engine


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(path: Path, name: str, kind: str, url: str) -> None:
    """A terminal's config file, created 0600 whatever the umask (it holds a password);
    an existing file is never overwritten."""
    lines = ["# Written by `boxoffice terminal add`; holds this terminal's database password.",
             "[database]", f"url = {_toml_str(url)}", "", "[terminal]",
             f"name = {_toml_str(name)}"]
    if kind in _CONFIG_KINDS or kind == "admin":
        lines.append(f"kind = {_toml_str('monitor' if kind == 'admin' else kind)}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, ("\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)


def cmd_add(args: argparse.Namespace) -> int:
    from core.provisioning import provision_terminal

    t = provision_terminal(_owner_engine(), args.name, args.kind)
    if args.config:
        write_config(Path(args.config), t.name, t.kind, t.url)
        print(f"terminal {t.name} ({t.kind}) added as login {t.login};"
              f" config written to {args.config} (mode 0600)")
    else:
        print(f"terminal {t.name} ({t.kind}) added as login {t.login}")
        print("connection URL (shown once; keep it in the terminal's config, mode 0600):")
        print(t.url)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from core.provisioning import revoke_terminal

    done = revoke_terminal(_owner_engine(), args.name)
    print(f"terminal {args.name} revoked: login disabled, {done['sessions_ended']} session(s)"
          f" ended, {done['keys_revoked']} signing key(s) revoked from now on")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from core.provisioning import list_terminals

    rows = list_terminals(_owner_engine())
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    print(f"{'NAME':<20} {'KIND':<8} {'LOGIN':<32} {'STATE':<8} {'KEY':<9} CONN")
    for r in rows:
        state = "revoked" if r.revoked_at else ("active" if r.login else "no login")
        key = (r.key_id or "-") + ("!" if r.key_revoked_at else "")
        print(f"{r.name:<20} {r.kind:<8} {r.login or '-':<32} {state:<8} {key:<9}"
              f" {r.connections}")
    return 0


def cmd_terminal(args: argparse.Namespace) -> int:
    from core.errors import BoxOfficeError

    try:
        return int(args.terminal_func(args))
    except BoxOfficeError as exc:
        print(exc.message(), file=sys.stderr)
        return 2


def register(subparsers: Any) -> None:
    t = subparsers.add_parser("terminal", help="terminal logins (run with the owner's URL)")
    ts = t.add_subparsers(dest="terminal_cmd", required=True)
    add = ts.add_parser("add", help="create a terminal's login and print its connection URL")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--config", help="write the terminal's config file here (mode 0600)")
    add.set_defaults(func=cmd_terminal, terminal_func=cmd_add)
    rv = ts.add_parser("revoke", help="disable a terminal's login and signing key now")
    rv.add_argument("name")
    rv.set_defaults(func=cmd_terminal, terminal_func=cmd_revoke)
    ls = ts.add_parser("list", help="terminals, their logins and keys")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_terminal, terminal_func=cmd_list)
