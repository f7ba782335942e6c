"""Dual control: a supervisor's PIN authorizes what a cashier may not do alone; every
approval records who asked, who approved and why, in a row and in the audit chain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from core import audit
from core.actors import Actor, OperatorInfo, authenticate, record_approval_row, require_role
from core.errors import BoxOfficeError

REFUND_REASONS = ("customer_request", "event_canceled", "event_changed", "duplicate_sale",
                  "wrong_seat", "exchange", "service_issue", "other")
VARIANCE_REASONS = ("counting_error", "change_error", "missing_cash", "surplus_cash", "other")

@dataclass(frozen=True, slots=True)
class SupervisorPin:
    """What the supervisor types on the cashier's terminal."""

    login: str
    pin: str


def check_reason(reason_code: str, allowed: tuple[str, ...]) -> None:
    if reason_code not in allowed:
        raise BoxOfficeError("invalid_reason", reason=reason_code)


def verify_supervisor(engine: Engine, actor: Actor, approver: SupervisorPin) -> OperatorInfo:
    """Check the PIN (with the usual lock-out) and the role; nobody approves themselves."""
    op = authenticate(engine, approver.login, approver.pin)
    require_role(op, "supervisor", "admin")
    if actor.operator_id is not None and op.id == actor.operator_id:
        raise BoxOfficeError("self_approval")
    return op


def record_approval(conn: Connection, actor: Actor, supervisor: OperatorInfo, kind: str,
                    reason_code: str, entity: str, entity_id: object,
                    amount_minor: int | None) -> uuid.UUID:
    aid = record_approval_row(conn, actor, supervisor, kind, reason_code, entity, entity_id,
                              amount_minor)
    audit.append(conn, actor, "approval", entity, entity_id,
                 {"approval_id": str(aid), "kind": kind, "requested_by": actor.operator_id,
                  "approved_by": supervisor.id, "approved_by_login": supervisor.login,
                  "reason": reason_code, "amount_minor": amount_minor})
    return aid
