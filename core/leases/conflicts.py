"""The supervisor's list of offline commands that could not be applied, and marking one
as dealt with (refunded, re-seated...). Nothing is ever deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from core import audit
from core.actors import Actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.uow import unit_of_work


@dataclass(frozen=True, slots=True)
class Conflict:
    id: int
    terminal: str
    command_key: uuid.UUID
    command: str
    error_code: str
    payload: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None


_LIST = text(
    """
    select c.id, t.name as terminal, c.command_key, c.command, c.error_code, c.payload,
           c.created_at, c.resolved_at
    from sync_conflicts c join terminals t on t.id = c.terminal_id
    where (:all or c.resolved_at is null) order by c.created_at, c.id
    """
)
_RESOLVE = text(
    "update sync_conflicts set resolved_at = now(), resolved_by = :op"
    " where id = :id and resolved_at is null returning id"
)


def list_conflicts(engine: Engine, *, include_resolved: bool = False) -> list[Conflict]:
    with engine.connect() as conn:
        return [Conflict(*r) for r in conn.execute(_LIST, {"all": include_resolved})]


def resolve_conflict(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, conflict_id: int,
                     note: str) -> bool:
    """A supervisor records that a conflict was dealt with; returns False if it was
    resolved already."""
    if actor.role not in ("supervisor", "admin"):
        raise BoxOfficeError("not_authorized", role="supervisor")
    key = as_key(key)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "resolve_conflict", {"id": conflict_id, "note": note},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return bool(done["resolved"])
        ok = conn.execute(_RESOLVE, {"id": conflict_id, "op": actor.operator_id}).first()
        if ok is not None:
            audit.append(conn, actor, "resolve_conflict", "sync_conflict", conflict_id,
                         {"note": note})
        finish_command(conn, key, {"resolved": ok is not None})
        return ok is not None
