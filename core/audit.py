"""Append-only audit log, hash-chained per terminal, and its verification.

One chain per terminal (not one global chain) so that terminals never queue on one
row to write their audit entries; each chain's head row records the last link, so a
deleted tail is detected as well as a tampered or deleted row in the middle.

The links are HMAC-SHA256 with a key only the database owner can read (migration
0008): rows are appended only through the definer function ``audit_link``, and someone
who deletes a row and recomputes the hashes after it cannot produce links that verify.
Verifying therefore needs the owner's rights.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from core.actors import GENESIS, Actor
from core.errors import BoxOfficeError

_APPEND = text("select audit_link(:chain, :action, :payload)")
# The same, also recording the command's result: one round trip less on every command.
_APPEND_AND_FINISH = text(
    "with c as (update command_log set result = cast(:result as jsonb) where key = :key)"
    " select audit_link(:chain, :action, :payload)"
)


def link_hash(prev: bytes, seq: int, at_us: int, action: str, payload: str,
              key: bytes) -> bytes:
    message = prev + f"|{seq}|{at_us}|{action}|".encode() + payload.encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def chain_key(conn: Connection) -> bytes:
    """The audit chain's HMAC key (owner's rights: a terminal gets owner_required)."""
    try:
        return bytes(conn.execute(
            text("select value from bo_secrets where name = 'audit_key'")).scalar_one())
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":
            raise BoxOfficeError("owner_required", detail="audit verify") from None
        raise


def canonical(actor: Actor, entity: str, entity_id: Any, data: dict[str, Any]) -> str:
    return json.dumps(
        {"terminal": actor.terminal_name, "operator": actor.operator_id, "entity": entity,
         "id": str(entity_id), "data": data},
        sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False,
    )


def append(conn: Connection, actor: Actor, action: str, entity: str, entity_id: Any,
           data: dict[str, Any], *, finish: tuple[Any, dict[str, Any]] | None = None) -> None:
    """Write one audit entry inside the caller's transaction (linked by the database's
    ``audit_link``). ``finish=(key, result)`` also stores the idempotent command's result
    in the same statement."""
    params: dict[str, Any] = {"chain": actor.chain, "action": action,
                              "payload": canonical(actor, entity, entity_id, data)}
    if finish is None:
        conn.execute(_APPEND, params).scalar_one()
    else:
        params["key"] = finish[0]
        params["result"] = json.dumps(finish[1], default=str)
        conn.execute(_APPEND_AND_FINISH, params).scalar_one()


@dataclass(frozen=True, slots=True)
class AuditProblem:
    chain: str
    seq: int | None
    problem: str


def verify(engine: Engine) -> tuple[int, list[AuditProblem]]:
    """Walk every chain; return (rows checked, problems found)."""
    problems: list[AuditProblem] = []
    checked = 0
    with engine.connect() as conn:
        key = chain_key(conn)
        heads = {r.chain: (r.seq, bytes(r.hash)) for r in
                 conn.execute(text("select chain, seq, hash from audit_heads"))}
        chains = [r[0] for r in conn.execute(text("select distinct chain from audit_log"))]
        for chain in sorted(set(chains) | set(heads)):
            prev, expected_seq = GENESIS, 1
            rows = conn.execution_options(yield_per=2000).execute(
                text("select seq, at_us, action, payload, prev_hash, hash from audit_log"
                     " where chain = :c order by seq"), {"c": chain})
            for r in rows:
                checked += 1
                if r.seq != expected_seq:
                    problems.append(AuditProblem(chain, expected_seq,
                                                 f"rows {expected_seq}..{r.seq - 1} missing"))
                elif bytes(r.prev_hash) != prev:
                    problems.append(AuditProblem(chain, r.seq, "link to previous row broken"))
                if not hmac.compare_digest(
                        link_hash(bytes(r.prev_hash), r.seq, r.at_us, r.action, r.payload, key),
                        bytes(r.hash)):
                    problems.append(AuditProblem(chain, r.seq, "row content was altered"))
                prev, expected_seq = bytes(r.hash), r.seq + 1
            head = heads.get(chain)
            if head is None:
                problems.append(AuditProblem(chain, None, "chain head missing"))
            elif head[0] != expected_seq - 1 or (head[0] and head[1] != prev):
                problems.append(AuditProblem(
                    chain, head[0], f"chain ends at {expected_seq - 1} but head says {head[0]}"
                    " (rows deleted at the end)"))
    return checked, problems
