"""Responsible gaming: the self-exclusion list a kiosk checks before it sells.

Only a keyed digest (HMAC) of the normalized identifier (document number, player card) is
stored, computed inside the database with a key only the owner role reads (migration
0008): the table answers "is this person excluded?" without holding a list anyone could
reverse (an 11-digit CPF under a bare hash falls to a search in minutes). Terminals ask
``bo_is_excluded``; the owner's tools, or a supervisor's PIN typed on a terminal's login,
add (``bo_add_exclusion``).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, OperatorInfo, raise_refusal
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.uow import unit_of_work

_CHECK = text("select bo_is_excluded(:norm)")
# The database adds the row (bo_add_exclusion, migration 0014): on a terminal's login
# only with a supervisor's one-use PIN proof typed on that login.
_ADD = text("select bo_add_exclusion(:norm, :until, :source, :approver, :proof)")


def normalize(identifier: str) -> str:
    """Letters and digits only, upper case: '123.456.789-09' and '12345678909' match."""
    norm = re.sub(r"[^0-9A-Za-z]", "", identifier or "").upper()
    if not 4 <= len(norm) <= 20:
        raise BoxOfficeError("identifier_invalid")
    return norm


def is_excluded(engine: Engine, identifier: str) -> bool:
    """True when the identifier is on the list and its exclusion has not ended
    (database clock)."""
    norm = normalize(identifier)
    with engine.connect() as conn:
        return bool(conn.execute(_CHECK, {"norm": norm}).scalar_one())


def add_exclusion(engine: Engine, actor: Actor, key: uuid.UUID | str, identifier: str, *,
                  until: datetime | None = None, source: str = "counter",
                  lock_timeout_ms: int = 2000, approver: OperatorInfo | None = None) -> int:
    """Put an identifier on the list (or change its end date); returns the row id.

    ``approver`` is the supervisor who signed in for it (``authenticate``); a terminal's
    login needs one (the database consumes its PIN proof), the owner's tools may omit it."""
    key = as_key(key)
    norm = normalize(identifier)
    with unit_of_work(engine) as conn:
        # The request's fingerprint never holds the identifier, nor a digest a terminal
        # could compute (the keyed one is the owner's): a key is fresh per command.
        done = begin_command(conn, key, "add_exclusion",
                             {"until": str(until), "source": source},
                             actor.terminal_id, lock_timeout_ms)
        if done is not None:
            return int(done["id"])
        try:
            row_id = int(conn.execute(_ADD, {
                "norm": norm, "until": until, "source": source,
                "approver": approver.id if approver else None,
                "proof": approver.proof if approver else None}).scalar_one())
        except DBAPIError as exc:
            raise_refusal(exc)
        audit.append(conn, actor, "add_exclusion", "self_exclusion", row_id,
                     {"until": str(until) if until else None, "source": source,
                      "approved_by": approver.id if approver else None})
        finish_command(conn, key, {"id": row_id})
        return row_id
