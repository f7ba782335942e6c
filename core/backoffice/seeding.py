"""Create-if-absent wrappers for seeding a site from files or code (the demo casino, a
test fixture, a casino's own provisioning script): safe to run again and again.

A room's import key is derived from its content, so the same file imported twice is
one command (the second returns the first's report), and a changed file is applied as
a re-import with its safe-change rules. An event is created only when its code is free.
"""

from __future__ import annotations

import uuid

from core.actors import Actor
from core.app_context import CoreContext
from core.backoffice.events import EventRow, EventSpec, create_event, get_event, publish
from core.backoffice.venue_format import RoomSpec, to_csv
from core.backoffice.venues import RoomImport, import_rooms
from core.errors import BoxOfficeError

_NS = uuid.UUID("0c9b7f4e-5d0a-4c55-a1f6-3f0f4d5e2b19")


def ensure_rooms(ctx: CoreContext, actor: Actor, rooms: list[RoomSpec]) -> list[RoomImport]:
    key = uuid.uuid5(_NS, "rooms:" + to_csv(rooms))
    return import_rooms(ctx, actor, key, rooms)


def ensure_event(ctx: CoreContext, actor: Actor, spec: EventSpec, *,
                 on_sale: bool = True) -> tuple[EventRow, bool]:
    """(the event, whether it was created now). An existing event is left as it is."""
    try:
        return get_event(ctx.engine, spec.code).event, False
    except BoxOfficeError as exc:
        if exc.code != "unknown_event":
            raise
    try:
        ev = create_event(ctx, actor, uuid.uuid4(), spec)
    except BoxOfficeError as exc:
        if exc.code != "event_exists":  # another seeder won the race
            raise
        return get_event(ctx.engine, spec.code).event, False
    if on_sale:
        ev = publish(ctx, actor, uuid.uuid4(), ev.code)
    return ev, True
