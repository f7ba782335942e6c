"""Responsible gaming: the self-exclusion list a kiosk checks before it sells.

Only a digest of the normalized identifier (document number, player card) is stored, so
the table answers "is this person excluded?" without holding a readable list of names.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from sqlalchemy import Engine, text

from core import audit
from core.actors import Actor
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.uow import unit_of_work

_CHECK = text(
    "select exists (select 1 from self_exclusions where identifier_hash = :h"
    " and (until is null or until > now()))"
)
_ADD = text(
    """
    insert into self_exclusions (identifier_hash, until, source) values (:h, :until, :source)
    on conflict (identifier_hash) do update set until = excluded.until, source = excluded.source
    returning id
    """
)


def normalize(identifier: str) -> str:
    """Letters and digits only, upper case: '123.456.789-09' and '12345678909' match."""
    norm = re.sub(r"[^0-9A-Za-z]", "", identifier or "").upper()
    if not 4 <= len(norm) <= 20:
        raise BoxOfficeError("identifier_invalid")
    return norm


def digest(identifier: str) -> bytes:
    return hashlib.sha256(normalize(identifier).encode()).digest()


def is_excluded(engine: Engine, identifier: str) -> bool:
    """True when the identifier is on the list and its exclusion has not ended
    (database clock)."""
    h = digest(identifier)
    with engine.connect() as conn:
        return bool(conn.execute(_CHECK, {"h": h}).scalar_one())


def add_exclusion(engine: Engine, actor: Actor, key: uuid.UUID | str, identifier: str, *,
                  until: datetime | None = None, source: str = "counter",
                  lock_timeout_ms: int = 2000) -> int:
    """Put an identifier on the list (or change its end date); returns the row id."""
    key = as_key(key)
    h = digest(identifier)
    with unit_of_work(engine) as conn:
        done = begin_command(conn, key, "add_exclusion",
                             {"h": h.hex(), "until": str(until), "source": source},
                             actor.terminal_id, lock_timeout_ms)
        if done is not None:
            return int(done["id"])
        row_id = int(conn.execute(_ADD, {"h": h, "until": until, "source": source}).scalar_one())
        audit.append(conn, actor, "add_exclusion", "self_exclusion", row_id,
                     {"until": str(until) if until else None, "source": source})
        finish_command(conn, key, {"id": row_id})
        return row_id
