"""The back office from the command line: ``boxoffice venue``, ``event``, ``seats``,
``price`` and ``operator`` (the groups live in the ``backoffice_*`` modules beside this
one; this module registers them and holds what they share).

Every command that changes something signs an operator in first: ``--login`` (or
``BOXOFFICE_OPERATOR``) and the PIN typed at a hidden prompt, or read from the first
line of standard input when that is not a terminal (scripts). A PIN is never an
argument. Errors print one line (``boxoffice: code: message``), never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def safe(fn: Handler) -> Handler:
    """A command's error boundary: a BoxOfficeError (every problem of a room file
    included), a database or file error, anything else: one clear line, exit 1."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        from core.errors import BoxOfficeError

        try:
            return int(fn(args) or 0)
        except BoxOfficeError as exc:
            problems = getattr(exc, "problems", None)
            if getattr(args, "json", False):
                print(json.dumps({"error": exc.to_dict() | (
                    {"problems": [str(p) for p in problems]} if problems else {})},
                    ensure_ascii=False))
            else:
                print(f"boxoffice: {exc.code}: {exc.message(_lang())}", file=sys.stderr)
                for p in problems or []:
                    print(f"  {p}", file=sys.stderr)
                for c in exc.details.get("changes", []) if exc.code == "room_change_unsafe" \
                        else []:
                    print(f"  unsafe: {c}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("boxoffice: interrupted", file=sys.stderr)
            return 130
        except EOFError:
            print("boxoffice: no PIN given (standard input ended)", file=sys.stderr)
            return 1
        except Exception as exc:  # the CLI never shows a traceback; the log has details
            import logging

            from sqlalchemy.exc import DBAPIError

            logging.getLogger("boxoffice.cli").exception("command failed")
            if isinstance(exc, DBAPIError):
                first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc)
                print(f"boxoffice: database error: {first}", file=sys.stderr)
            elif isinstance(exc, OSError):
                print(f"boxoffice: {exc.strerror or exc}: {exc.filename or ''}",
                      file=sys.stderr)
            else:
                print(f"boxoffice: unexpected error: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
            return 1

    return run


def _lang() -> str:
    """The configured terminal language (the CLI does not set the process language)."""
    try:
        from boxoffice_cli.main import _settings

        return _settings().terminal.language
    except Exception:  # settings that cannot load: their own error was the message
        return "en"


def context() -> Any:
    from boxoffice_cli.main import _context

    return _context()


def read_pin(prompt: str) -> str:
    """A PIN from a hidden prompt, or the next line of standard input in a script."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


def new_pin(who: str) -> str:
    """A new PIN typed twice (never echoed, never an argument)."""
    from core.errors import BoxOfficeError

    first = read_pin(f"New PIN for {who}: ")
    if read_pin(f"New PIN for {who} again: ") != first:
        raise BoxOfficeError("pin_mismatch")
    return first


def actor(ctx: Any, args: argparse.Namespace) -> Any:
    """Sign the operator in (PIN prompt) and build the acting Actor on this terminal."""
    from core.actors import Actor, authenticate, register_terminal
    from core.backoffice.staff import note_sign_in
    from core.errors import BoxOfficeError

    login = getattr(args, "login", None) or os.environ.get("BOXOFFICE_OPERATOR")
    if not login:
        raise BoxOfficeError("invalid_input", detail="sign in with --login LOGIN (or set"
                             " BOXOFFICE_OPERATOR); the PIN is asked for")
    op = authenticate(ctx.engine, login, read_pin(f"PIN for {login}: "))
    args.signed_in = op  # its one-use PIN proof lets a terminal login record an approval
    note_sign_in(ctx.engine, op.id)
    name = ctx.settings.terminal.name
    tid = register_terminal(ctx.engine, name, ctx.settings.terminal.kind)
    return Actor(tid, name, op.id, op.role, "counter")


def key(args: argparse.Namespace) -> uuid.UUID:
    """``--key`` lets a script repeat a command safely; otherwise a fresh key."""
    from core.idempotency import as_key

    return as_key(args.key) if getattr(args, "key", None) else uuid.uuid4()


def money(text: str) -> int:
    from core.errors import BoxOfficeError
    from core.money import parse_minor

    try:
        return parse_minor(text)
    except (ValueError, ArithmeticError):
        raise BoxOfficeError("invalid_input", detail=f"{text!r} is not an amount") from None


def emit_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str))


def table(rows: list[list[Any]], header: list[str]) -> None:
    """A plain aligned table (no colours: the output is piped and read by people)."""
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in r]
                                          for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for i, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def signed(p: argparse.ArgumentParser, *, changes: bool = True) -> argparse.ArgumentParser:
    """The sign-in (and idempotency key) options of a command that changes something."""
    p.add_argument("--login", help="operator login (PIN is asked for; default:"
                   " $BOXOFFICE_OPERATOR)")
    if changes:
        p.add_argument("--key", help="idempotency key (UUID): repeating the command with"
                       " the same key does nothing twice")
    return p


def register(sub: Any) -> None:
    from boxoffice_cli import (
        backoffice_events,
        backoffice_inventory,
        backoffice_staff,
        backoffice_venue,
    )

    backoffice_venue.register(sub)
    backoffice_events.register(sub)
    backoffice_inventory.register(sub)
    backoffice_staff.register(sub)
