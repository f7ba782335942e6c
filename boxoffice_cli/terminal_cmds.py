"""``boxoffice terminal add|revoke|list``: one database login per terminal, run with the
owner's database URL; with ``redis.admin_url`` in the owner's settings, one Redis user per
terminal too. Imports are lazy (fast ``--help``)."""

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


def _redis_admin() -> Any:
    """The Redis admin account of the owner's settings (``redis.admin_url``), or None."""
    from boxoffice_cli.main import _settings
    from core.provisioning import redis_admin

    r = _settings().redis
    if r.admin_url is None:
        return None
    return redis_admin(r.admin_url.get_secret_value(), r.key_prefix)


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(path: Path, name: str, kind: str, url: str, redis_url: str | None = None,
                 redis_prefix: str = "bo:") -> None:
    """A terminal's config file, created 0600 whatever the umask (it holds passwords);
    an existing file is never overwritten."""
    lines = ["# Written by `boxoffice terminal add`; holds this terminal's passwords.",
             "[database]", f"url = {_toml_str(url)}", "", "[terminal]",
             f"name = {_toml_str(name)}"]
    if kind in _CONFIG_KINDS or kind == "admin":
        lines.append(f"kind = {_toml_str('monitor' if kind == 'admin' else kind)}")
    if redis_url is not None:
        lines += ["", "[redis]", f"url = {_toml_str(redis_url)}",
                  f"key_prefix = {_toml_str(redis_prefix)}"]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, ("\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)


def cmd_add(args: argparse.Namespace) -> int:
    from core.provisioning import provision_terminal

    engine = _owner_engine()
    admin = _redis_admin()
    try:
        t = provision_terminal(engine, args.name, args.kind, redis_admin=admin)
    finally:
        if admin is not None:
            admin.close()
    redis_note = " and Redis user" if t.redis_url else ""
    if args.config:
        write_config(Path(args.config), t.name, t.kind, t.url, t.redis_url,
                     admin.prefix if admin is not None else "bo:")
        print(f"terminal {t.name} ({t.kind}) added as login {t.login}{redis_note};"
              f" config written to {args.config} (mode 0600)")
    else:
        print(f"terminal {t.name} ({t.kind}) added as login {t.login}{redis_note}")
        print("connection URL (shown once; keep it in the terminal's config, mode 0600):")
        print(t.url)
        if t.redis_url:
            print("Redis URL ([redis] url in the same file):")
            print(t.redis_url)
    if admin is None:
        print("no Redis user made (no redis.admin_url): give this terminal no Redis URL,"
              " or one of its kind's own")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from core.errors import BoxOfficeError
    from core.provisioning import disable_redis_user, revoke_terminal

    # The database first, whatever Redis says: that is what cuts a stolen terminal off.
    done = revoke_terminal(_owner_engine(), args.name)
    print(f"terminal {args.name} revoked: login disabled, {done['sessions_ended']}"
          f" session(s) ended, {done['keys_revoked']} signing key(s) revoked from now on,"
          f" {done['holds_released']} hold(s) released")
    if not done["login"]:
        return 0
    try:
        admin = _redis_admin()
        if admin is None:
            return 0
        try:
            r = disable_redis_user(admin.client, done["login"])
        finally:
            admin.close()
    except BoxOfficeError as exc:
        # Both parts are idempotent: running revoke again finishes the Redis part.
        print(f"Redis user NOT turned off: {exc.message()}; run this command again",
              file=sys.stderr)
        return 1
    if r["redis"] == "off":
        print(f"Redis user {done['login']} off, {r['redis_clients_killed']}"
              " connection(s) closed")
    else:
        print("no Redis user for this terminal")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from core.provisioning import list_terminals

    admin = _redis_admin()
    try:
        rows = list_terminals(_owner_engine(), redis_admin=admin)
    finally:
        if admin is not None:
            admin.close()
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    # REDIS: on / off (revoked) / none; "?" without redis.admin_url to ask.
    print(f"{'NAME':<20} {'KIND':<8} {'LOGIN':<32} {'STATE':<8} {'KEY':<9} {'REDIS':<5} CONN")
    for r in rows:
        state = "revoked" if r.revoked_at else ("active" if r.login else "no login")
        key = (r.key_id or "-") + ("!" if r.key_revoked_at else "")
        print(f"{r.name:<20} {r.kind:<8} {r.login or '-':<32} {state:<8} {key:<9}"
              f" {r.redis or '?':<5} {r.connections}")
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
