"""Ids checked at the service boundary: a number the database cannot hold, or text that
is no number, gets a clear BoxOfficeError here instead of a DataError from the driver or
a ValueError from int().

Events and sections have 32-bit ids, seats 64-bit ones. An id out of range cannot exist,
so it reads as the "unknown" code of its kind; one that is no whole number is
``invalid_id``. Digit strings are taken (forms and command lines send text)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.errors import BoxOfficeError

INT4 = (-(2**31), 2**31 - 1)
INT8 = (-(2**63), 2**63 - 1)


def whole_number(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() \
            and len(value.strip()) <= 25:
        return int(value.strip())
    raise BoxOfficeError("invalid_id", what=what, value=repr(value)[:40])


def event_id(value: Any) -> int:
    n = whole_number(value, "event")
    if not INT4[0] <= n <= INT4[1]:
        raise BoxOfficeError("unknown_event", event_id=n)
    return n


def section_id(value: Any) -> int:
    n = whole_number(value, "section")
    if not INT4[0] <= n <= INT4[1]:
        raise BoxOfficeError("unknown_section", section_id=n)
    return n


def seat_ids(values: Iterable[Any]) -> list[int]:
    out = []
    for v in values:
        n = whole_number(v, "seat")
        if not INT8[0] <= n <= INT8[1]:
            raise BoxOfficeError("unknown_seat", seat_ids=[n])
        out.append(n)
    return out


def row_ids(values: Iterable[Any], what: str) -> list[int]:
    """Ids of 64-bit rows a caller picks from a list it was given (order lines): out of
    range, they cannot be among them."""
    out = []
    for v in values:
        n = whole_number(v, what)
        if not INT8[0] <= n <= INT8[1]:
            raise BoxOfficeError("invalid_input", detail=f"{what} {n} does not exist")
        out.append(n)
    return out
