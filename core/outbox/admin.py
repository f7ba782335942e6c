"""What a supervisor does with the outbox: see what waits or was parked, and send parked
messages again (``boxoffice outbox list|retry``). Payloads carry no email address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from core.errors import BoxOfficeError

Status = Literal["pending", "parked", "sent", "all"]
STATUSES: tuple[Status, ...] = ("pending", "parked", "sent", "all")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message_id: str
    kind: str
    channel: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    parked_at: datetime | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "next_attempt_at", "sent_at", "parked_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


_LIST = text(
    """
    select id, message_id::text, topic as kind, channel,
           case when sent_at is not null then 'sent' when parked_at is not null then 'parked'
                else 'pending' end as status,
           attempts, created_at, next_attempt_at, sent_at, parked_at, last_error
    from outbox
    where case :status when 'all' then true
                       when 'sent' then sent_at is not null
                       when 'parked' then parked_at is not null and sent_at is null
                       else sent_at is null and parked_at is null end
    order by id desc limit :n
    """
)
_RETRY = text(
    """
    update outbox set parked_at = null, next_attempt_at = now(), attempts = 0
    where parked_at is not null and sent_at is null
      and (cast(:ids as bigint[]) is null or id = any(cast(:ids as bigint[])))
    returning id
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def list_messages(engine: Engine, status: Status = "pending",
                  limit: int = 100) -> list[OutboxRow]:
    if status not in STATUSES:
        raise BoxOfficeError("invalid_input", detail=f"status is one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 10_000:
        raise BoxOfficeError("invalid_input", detail="limit is 1 to 10000")
    with engine.connect() as conn:
        return [OutboxRow(*r) for r in conn.execute(_LIST, {"status": status, "n": limit})]


def retry(engine: Engine, ids: Sequence[int] | None = None) -> list[int]:
    """Put parked messages (``ids``, or all of them) back in the queue, due now, with a
    fresh attempt budget. An id that is not parked is an error (nothing is changed)."""
    with engine.begin() as conn:
        done = sorted(r[0] for r in conn.execute(_RETRY, {"ids": list(ids) if ids else None}))
        missing = sorted(set(ids or ()) - set(done))
        if missing:  # raised inside the transaction: nothing is changed
            raise BoxOfficeError("outbox_message_unknown",
                                 ids=", ".join(str(i) for i in missing))
    return done


def counts(engine: Engine) -> dict[str, int]:
    """Pending, parked and sent messages (for the CLI and the monitor)."""
    with engine.connect() as conn:
        r = conn.execute(text(
            "select count(*) filter (where sent_at is null and parked_at is null),"
            " count(*) filter (where parked_at is not null and sent_at is null),"
            " count(*) filter (where sent_at is not null) from outbox")).one()
    return {"pending": int(r[0]), "parked": int(r[1]), "sent": int(r[2])}
