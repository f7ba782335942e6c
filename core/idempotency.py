"""Client-generated idempotency keys: a repeated command returns its first result.

The key is inserted at the start of the unit of work: a concurrent duplicate waits on
the unique index until the first commits (then reads its result) or rolls back (then
acts itself). A command may also store the refusal it answered (``failure_result``:
sold out, seats taken): a copy of it then gets that same refusal instead of acting on a
state that changed in between (a double click answered "sold out" and "ok"). Commands
that failed for a passing reason (timeouts, a lost database) leave no row, so a retry
acts again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from core.errors import BoxOfficeError

# set_config(..., true) is SET LOCAL: the lock timeout lasts for this transaction only.
# Folding it into the insert saves a round trip on every command.
_BEGIN = text(
    """
    with cfg as (select set_config('lock_timeout', :lock_timeout, true) as v)
    insert into command_log (key, command, request_hash, terminal_id)
    select :key, :command, :request_hash, :terminal_id from cfg
    on conflict (key) do nothing
    returning key
    """
)
_EXISTING = text("select command, request_hash, result from command_log where key = :key")
_FINISH = text("update command_log set result = cast(:result as jsonb) where key = :key")


def request_hash(command: str, params: dict[str, Any]) -> str:
    blob = json.dumps([command, params], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def as_key(key: uuid.UUID | str) -> uuid.UUID:
    try:
        return key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError:
        raise BoxOfficeError("invalid_input", detail=f"idempotency key {key!r} is not a UUID") \
            from None


def begin_command(conn: Connection, key: uuid.UUID, command: str, params: dict[str, Any],
                  terminal_id: int | None, lock_timeout_ms: int) -> dict[str, Any] | None:
    """Claim ``key`` for this command; return the stored result if it already ran."""
    rh = request_hash(command, params)
    got = conn.execute(_BEGIN, {"lock_timeout": f"{lock_timeout_ms}ms", "key": key,
                                "command": command, "request_hash": rh,
                                "terminal_id": terminal_id}).first()
    if got is not None:
        return None
    row = conn.execute(_EXISTING, {"key": key}).mappings().one()
    if row["command"] != command or row["request_hash"] != rh:
        raise BoxOfficeError("idempotency_conflict")
    result = dict(row["result"] or {})
    raise_stored_failure(result)
    return result


def key_lock(key: uuid.UUID) -> int:
    """The advisory lock that copies of one command (same key) queue on, so they run one
    after the other and take their row locks in one order (no deadlock between copies)."""
    return int.from_bytes(key.bytes[:8], "big", signed=True)


def failure_result(err: BoxOfficeError) -> dict[str, Any]:
    """The command_log result recording that the command answered ``err``."""
    # A key no command's own result uses, so a stored answer is never taken for one.
    return {"refused": err.to_dict()}


def raise_stored_failure(result: dict[str, Any] | None) -> None:
    """Answer a copy of a command that was refused with the same refusal."""
    if result and "refused" in result:
        raise BoxOfficeError.from_dict(result["refused"])


def finish_command(conn: Connection, key: uuid.UUID, result: dict[str, Any]) -> None:
    conn.execute(_FINISH, {"key": key, "result": json.dumps(result, default=str)})
