"""Dual control: a supervisor's PIN authorizes what a cashier may not do alone; every
approval records who asked, who approved and why, in a row and in the audit chain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

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


_ACTOR = object()


def verify_supervisor(engine: Engine, actor: Actor, approver: SupervisorPin, *,
                      requested_by: int | object | None = _ACTOR) -> OperatorInfo:
    """Check the PIN (with the usual lock-out) and the role; nobody approves themselves.

    ``requested_by`` is the operator who asked: by default the acting operator (a cashier
    asking for a refund at the counter). A request approved later from the monitor was
    asked by someone else (the cashier whose shift it is): there the acting supervisor is
    the approver, and the caller passes the requester it read, or None to leave the check
    to the database function once the request is loaded."""
    op = authenticate(engine, approver.login, approver.pin)
    require_role(op, "supervisor", "admin")
    asker = actor.operator_id if requested_by is _ACTOR else requested_by
    if asker is not None and op.id == asker:
        raise BoxOfficeError("self_approval")
    return op


def record_approval(conn: Connection, actor: Actor, supervisor: OperatorInfo, kind: str,
                    reason_code: str, entity: str, entity_id: object,
                    amount_minor: int | None, *,
                    requested_by: int | object | None = _ACTOR) -> uuid.UUID:
    asker = actor.operator_id if requested_by is _ACTOR else cast("int | None", requested_by)
    aid = record_approval_row(conn, actor, supervisor, kind, reason_code, entity, entity_id,
                              amount_minor, requested_by=asker)
    audit.append(conn, actor, "approval", entity, entity_id,
                 {"approval_id": str(aid), "kind": kind, "requested_by": asker,
                  "approved_by": supervisor.id, "approved_by_login": supervisor.login,
                  "reason": reason_code, "amount_minor": amount_minor})
    return aid
