"""Services only the unattended kiosk needs."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from core.actors import Actor
from core.context import CoreContext
from core.idempotency import as_key
from core.reservation import release_hold

_ACTIVE_HOLDS = text(
    "select id from holds where terminal_id = :tid and status = 'active' order by created_at"
)


def active_holds(ctx: CoreContext, actor: Actor) -> list[uuid.UUID]:
    with ctx.engine.connect() as conn:
        return [r.id for r in conn.execute(_ACTIVE_HOLDS, {"tid": actor.terminal_id})]


def release_terminal_holds(ctx: CoreContext, actor: Actor, key: uuid.UUID | str) -> int:
    """Release every active hold of this terminal (a kiosk restarted after a crash, or
    stopping): nobody is standing at it any more. Each release has a key derived from
    ``key``, so repeating the call releases nothing twice. Returns how many were active."""
    base = as_key(key)
    holds = active_holds(ctx, actor)
    for hold_id in holds:
        release_hold(ctx, actor, uuid.uuid5(base, str(hold_id)), hold_id)
    return len(holds)
