"""Argument types for ``boxoffice`` commands: each value is checked where it is typed, so
a bad one is an argparse error naming its option ("argument --float: ..."), exit 2,
before a PIN is asked or a database is reached. Bounds are the ones the services check
again at their boundary (core.money, core.reservation.inputs); the CLI only answers
earlier and in the operator's words."""

from __future__ import annotations

import argparse
from datetime import datetime

# An id the database can hold (bigint); anything larger cannot exist.
MAX_ID = 2**63 - 1
# More places than any room holds: a mistyped number, not a lease.
MAX_QUANTITY = 100_000
GATE_MAX = 59  # the check-in table holds 64 characters; "gate-" is prepended to the name


def quantity(text: str) -> int:
    n = _whole(text, "a number of places")
    if not 1 <= n <= MAX_QUANTITY:
        raise argparse.ArgumentTypeError(f"{text[:25]!r} is not between 1 and {MAX_QUANTITY}")
    return n


def id_list(text: str) -> list[int]:
    """``1,2,3``: ids separated by commas."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: ids separated by commas, e.g. 12,13")
    out = []
    for p in parts:
        n = _whole(p, "an id")
        if not 1 <= n <= MAX_ID:
            raise argparse.ArgumentTypeError(f"{p[:25]!r} is not an id that can exist")
        out.append(n)
    return out


def amount(text: str) -> int:
    """A money amount as typed at a till (``200``, ``200,00``, ``1.234,56``), in minor
    units, never negative, within the bound every service keeps."""
    from core.money import MAX_AMOUNT_MINOR, parse_minor

    try:
        value = parse_minor(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:25]!r} is not an amount (e.g. 200 or 200,00)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text[:25]!r}: an amount cannot be negative")
    if value > MAX_AMOUNT_MINOR:
        raise argparse.ArgumentTypeError(f"{text[:25]!r} is larger than any till holds")
    return value


def gate_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > GATE_MAX or not name.isprintable():
        raise argparse.ArgumentTypeError(
            f"a gate name has 1 to {GATE_MAX} printable characters (got {len(name)})")
    return name


def terminal_name(text: str) -> str:
    """A terminal name as the settings accept it (letters, digits, ``_.-``; 1 to 64)."""
    name = text.strip()
    if not 1 <= len(name) <= 64 or not all(c.isascii() and (c.isalnum() or c in "_.-")
                                           for c in name):
        raise argparse.ArgumentTypeError(
            f"{text[:30]!r}: 1 to 64 letters, digits, '_', '.' or '-'")
    return name


def moment(text: str) -> datetime:
    """An ISO date or date and time (``2027-01-31``, ``2027-01-31T18:00``)."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:30]!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _whole(text: str, what: str) -> int:
    t = text.strip()
    if not t.isdigit() or not t.isascii():
        raise argparse.ArgumentTypeError(f"{text[:25]!r} is not {what}")
    return int(t[:40])  # longer is out of every range anyway; int() of it is costly
