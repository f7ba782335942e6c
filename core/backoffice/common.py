"""What every back-office service shares: the role check and the idempotent unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

from core import audit
from core.actors import Actor
from core.app_context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command
from core.uow import unit_of_work

SUPERVISOR = ("supervisor", "admin")
ADMIN = ("admin",)


def require(actor: Actor, roles: tuple[str, ...] = SUPERVISOR) -> None:
    """The acting operator's role must be one of ``roles``. The system actor (the demo
    seed, migrations run by the owner) has no operator and passes."""
    if actor.channel == "system" and actor.operator_id is None:
        return
    if actor.operator_id is None or actor.role not in roles:
        raise BoxOfficeError("not_authorized", role="/".join(roles))


@contextmanager
def command(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, name: str,
            params: dict[str, Any]) -> Iterator[tuple[Connection, uuid.UUID, dict | None]]:
    """One unit of work that claims ``key`` for ``name``; yields (conn, key, prior) where
    ``prior`` is the stored result when the key already ran (the body then returns it)."""
    k = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        prior = begin_command(conn, k, name, params, actor.terminal_id,
                              ctx.settings.database.lock_timeout_ms)
        yield conn, k, prior


def finish(conn: Connection, actor: Actor, key: uuid.UUID, action: str, entity: str,
           entity_id: Any, data: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The audit entry and the command's stored result, in one statement."""
    audit.append(conn, actor, action, entity, entity_id, data, finish=(key, result))
    return result


def run(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, name: str,
        params: dict[str, Any], body: Callable[[Connection, uuid.UUID], dict[str, Any]]
        ) -> dict[str, Any]:
    """``body(conn, key)`` once per key: it does the work, calls ``finish`` and returns
    the result; a repeated key returns the first result without acting."""
    with command(ctx, actor, key, name, params) as (conn, k, prior):
        if prior is not None:
            return prior
        return body(conn, k)


_EVENT = "select e.*, v.code as venue_code, v.timezone from events e" \
    " join venues v on v.id = e.venue_id where "
_EVENT_BY = {(by, lock): text(_EVENT + f"e.{by} = :e" + (" for update of e" if lock else ""))
             for by in ("id", "code") for lock in (False, True)}


def event_row(conn: Connection, event: int | str, *, lock: bool = False) -> Any:
    """The event by id, or by code (a code made of digits wins over an id), with
    ``lock``: FOR UPDATE; or ``unknown_event``."""
    row = None
    if not isinstance(event, int):
        row = conn.execute(_EVENT_BY[("code", lock)], {"e": str(event)}).mappings().first()
    if row is None and (isinstance(event, int) or str(event).isdigit()):
        value = int(event)
        if 0 < value < 2**31:
            row = conn.execute(_EVENT_BY[("id", lock)], {"e": value}).mappings().first()
    if row is None:
        raise BoxOfficeError("unknown_event", event_id=event)
    return row


_SECTION_BY = {numeric: text("select s.id from sections s join events e on e.venue_id ="
                              " s.venue_id where e.id = :e and "
                              + ("s.id = :s" if numeric else "s.code = :s"))
               for numeric in (False, True)}


def section_id(conn: Connection, event_id: int, section: int | str) -> int:
    """A section of the event's room, by id or code."""
    numeric = isinstance(section, int)
    if numeric and not 0 < int(section) < 2**31:
        raise BoxOfficeError("unknown_section", section_id=section)
    row = conn.execute(_SECTION_BY[numeric], {"e": event_id, "s": section}).first()
    if row is None:
        raise BoxOfficeError("unknown_section", section_id=section)
    return int(row[0])
