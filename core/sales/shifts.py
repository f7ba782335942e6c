"""Shifts and their cash drawer: open with a float, blind count at close, variance
approval, supervised pay-ins and pay-outs, X (mid-shift) and Z (closing) reports by tender.

The database checks the drawer too (migration 0018): cash moves only in the terminal's
own open shift and by its flow (float at opening, a cash sale's total, a pay-in or
pay-out with a supervisor's approval in the same transaction); the expected cash of a
count is computed there from the movements, and a variance over its own limit needs an
approval by another operator than the shift's.

A shift belongs to a cashier terminal (one open at a time); kiosks have no drawer and
sell card-only without a shift.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.actors import Actor, raise_refusal
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.idempotency import as_key, begin_command, finish_command
from core.money import check_amount
from core.sales.approvals import (
    VARIANCE_REASONS,
    SupervisorPin,
    check_reason,
    record_approval,
    verify_supervisor,
)
from core.uow import unit_of_work

_OPEN_SHIFT = text(
    "select id, operator_id, status, currency from shifts where terminal_id = :t"
    " and status = 'open'"
)
_LOCK_SHIFT = text("select * from shifts where id = :id for update")
_INSERT_SHIFT = text(
    "insert into shifts (id, terminal_id, operator_id, status, currency, opening_float_minor)"
    " values (:id, :t, :op, 'open', :cur, :float) on conflict do nothing returning opened_at"
)
_MOVE = text(
    "insert into cash_movements (shift_id, kind, amount_minor, sale_id, refund_id)"
    " values (:shift_id, :kind, :amount, :sale_id, :refund_id)"
)
_EXPECTED = text("select coalesce(sum(amount_minor), 0) from cash_movements where shift_id = :id")
# Every sale of the shift whatever its path: the sale saga's rows, and the sales made
# offline from a lease and replayed (core.leases.confirm writes no sales row: its order
# and lease_sales row are the record). A stored card declined at capture is no sale.
_SALES_BY_TENDER = text(
    """
    select tender, count(*) as n, coalesce(sum(total), 0) as total from (
      select tender, amount_minor as total from sales
      where shift_id = :id and state in ('completed', 'capturing')
      union all
      select case when ls.payment_method = 'cash' then 'cash' else 'card' end, ls.amount_minor
      from lease_sales ls join orders o on o.id = ls.order_id
      where o.shift_id = :id and ls.card_status is distinct from 'declined'
    ) s group by tender
    """
)
_REFUNDS_BY_TENDER = text(
    "select method, count(*) as n, coalesce(sum(amount_minor), 0) as total from refunds"
    " where shift_id = :id group by method"
)
# The database's own variance limit (bo_settings, the owner's or an admin's): the lower of
# it and this terminal's setting applies, so a terminal's settings can only ask for more.
_DB_VARIANCE_LIMIT = text(
    "select value::bigint from bo_settings where name = 'variance_approval_over_minor'"
)
# Why cash goes into or out of a drawer besides sales and refunds.
CASH_REASONS = ("bank_drop", "change_fund", "petty_cash", "supplier", "other")
_CASH_BY_KIND = text(
    "select kind, coalesce(sum(amount_minor), 0) as total from cash_movements"
    " where shift_id = :id group by kind"
)


@dataclass(frozen=True, slots=True)
class ShiftInfo:
    shift_id: uuid.UUID
    terminal_id: int
    operator_id: int
    status: str
    currency: str
    opening_float_minor: int

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["shift_id"] = str(self.shift_id)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShiftInfo:
        return cls(**{**d, "shift_id": uuid.UUID(d["shift_id"])})


@dataclass(frozen=True, slots=True)
class ShiftClose:
    """The answer to a blind count: the expected figure is shown only now."""

    shift_id: uuid.UUID
    status: str  # closed | pending_approval
    expected_cash_minor: int
    counted_cash_minor: int
    variance_minor: int
    needs_approval: bool

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["shift_id"] = str(self.shift_id)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShiftClose:
        return cls(**{**d, "shift_id": uuid.UUID(d["shift_id"])})


@dataclass(frozen=True, slots=True)
class TenderTotals:
    sales_count: int = 0
    sales_minor: int = 0
    refunds_count: int = 0
    refunds_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.sales_minor - self.refunds_minor


@dataclass(frozen=True, slots=True)
class ShiftReport:
    kind: str  # X | Z
    shift_id: uuid.UUID
    terminal_id: int
    operator_id: int
    status: str
    currency: str
    opened_at: datetime
    closed_at: datetime | None
    opening_float_minor: int
    by_tender: dict[str, TenderTotals] = field(default_factory=dict)
    cash_by_kind: dict[str, int] = field(default_factory=dict)
    expected_cash_minor: int = 0
    counted_cash_minor: int | None = None
    variance_minor: int | None = None


def open_shift_id(conn: Connection, terminal_id: int) -> uuid.UUID | None:
    row = conn.execute(_OPEN_SHIFT, {"t": terminal_id}).first()
    return row.id if row else None


def require_open_shift(conn: Connection, actor: Actor) -> uuid.UUID:
    sid = open_shift_id(conn, actor.terminal_id)
    if sid is None:
        raise BoxOfficeError("no_open_shift")
    return sid


def add_cash(conn: Connection, shift_id: uuid.UUID, kind: str, amount_minor: int, *,
             sale_id: uuid.UUID | None = None, refund_id: uuid.UUID | None = None) -> None:
    conn.execute(_MOVE, {"shift_id": shift_id, "kind": kind, "amount": amount_minor,
                         "sale_id": sale_id, "refund_id": refund_id})


def current_shift(ctx: CoreContext, actor: Actor) -> ShiftInfo | None:
    with ctx.engine.connect() as conn:
        row = conn.execute(
            text("select * from shifts where terminal_id = :t and status <> 'closed'"),
            {"t": actor.terminal_id}).mappings().first()
    return _info(row) if row else None


def open_shift(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
               opening_float_minor: int) -> ShiftInfo:
    """Open this terminal's drawer with ``opening_float_minor`` in it."""
    key = as_key(key)
    if actor.operator_id is None:
        raise BoxOfficeError("invalid_input", detail="a shift needs a signed-in operator")
    if isinstance(opening_float_minor, int) and opening_float_minor < 0:
        raise BoxOfficeError("invalid_input", detail="the opening float cannot be negative")
    check_amount(opening_float_minor, "opening float")
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "open_shift", {"float": opening_float_minor},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return ShiftInfo.from_json(done)
        sid = uuid.uuid4()
        cur = ctx.settings.sales.currency
        try:
            opened = conn.execute(_INSERT_SHIFT, {"id": sid, "t": actor.terminal_id,
                                                  "op": actor.operator_id, "cur": cur,
                                                  "float": opening_float_minor}).first()
            if opened is None:
                raise BoxOfficeError("shift_already_open")
            add_cash(conn, sid, "float", opening_float_minor)
        except DBAPIError as exc:
            raise_refusal(exc)
        info = ShiftInfo(sid, actor.terminal_id, actor.operator_id, "open", cur,
                         opening_float_minor)
        audit.append(conn, actor, "open_shift", "shift", sid,
                     {"opening_float_minor": opening_float_minor, "currency": cur})
        finish_command(conn, key, info.to_json())
        return info


def close_shift(ctx: CoreContext, actor: Actor, key: uuid.UUID | str, counted_cash_minor: int,
                *, approver: SupervisorPin | None = None,
                reason_code: str | None = None) -> ShiftClose:
    """Blind count: the cashier's count is recorded before the expected figure is shown.
    A variance above ``sales.variance_approval_over_minor`` leaves the shift
    ``pending_approval`` (the count cannot be changed) unless a supervisor approves now."""
    key = as_key(key)
    check_amount(counted_cash_minor, "counted cash")
    supervisor = verify_supervisor(ctx.engine, actor, approver) if approver else None
    if supervisor is not None:
        check_reason(reason_code or "", VARIANCE_REASONS)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "close_shift", {"counted": counted_cash_minor},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return ShiftClose.from_json(done)
        row = conn.execute(
            text("select id from shifts where terminal_id = :t and status <> 'closed'"),
            {"t": actor.terminal_id}).first()
        if row is None:
            raise BoxOfficeError("no_open_shift")
        shift = conn.execute(_LOCK_SHIFT, {"id": row.id}).mappings().one()
        if shift["status"] == "pending_approval":
            raise BoxOfficeError("count_already_entered")
        expected = int(conn.execute(_EXPECTED, {"id": shift["id"]}).scalar_one())
        variance = counted_cash_minor - expected
        over = abs(variance) > variance_limit(conn, ctx)
        result = _close(conn, ctx, actor, shift["id"], expected, counted_cash_minor, variance,
                        over, supervisor, reason_code)
        finish_command(conn, key, result.to_json())
        return result


def variance_limit(conn: Connection, ctx: CoreContext) -> int:
    """The variance a shift may close with, unapproved: the lower of this terminal's
    setting and the database's."""
    db_limit = conn.execute(_DB_VARIANCE_LIMIT).scalar_one_or_none()
    mine = ctx.settings.sales.variance_approval_over_minor
    return mine if db_limit is None else min(mine, int(db_limit))


@dataclass(frozen=True, slots=True)
class CashMove:
    """A supervised pay-in or pay-out: ``amount_minor`` is what went in (> 0) or out
    (< 0) of the drawer."""

    shift_id: uuid.UUID
    kind: str  # paid_in | paid_out
    amount_minor: int
    reason_code: str
    approval_id: uuid.UUID

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(shift_id=str(self.shift_id), approval_id=str(self.approval_id))
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CashMove:
        return cls(**{**d, "shift_id": uuid.UUID(d["shift_id"]),
                      "approval_id": uuid.UUID(d["approval_id"])})


def move_cash(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
              kind: Literal["paid_in", "paid_out"], amount_minor: int, *,
              approver: SupervisorPin, reason_code: str) -> CashMove:
    """Put ``amount_minor`` into (``paid_in``) or take it out of (``paid_out``) this
    terminal's open drawer, with a supervisor's PIN: the shift's expected cash moves by
    it, so it never happens on the cashier's word alone."""
    key = as_key(key)
    if kind not in ("paid_in", "paid_out"):
        raise BoxOfficeError("invalid_input", detail=f"unknown cash movement {kind}")
    check_amount(amount_minor, "cash movement")
    if amount_minor == 0:
        raise BoxOfficeError("invalid_input", detail="a cash movement moves some cash")
    check_reason(reason_code, CASH_REASONS)
    supervisor = verify_supervisor(ctx.engine, actor, approver)
    signed = amount_minor if kind == "paid_in" else -amount_minor
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, kind, {"amount": amount_minor, "reason": reason_code},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return CashMove.from_json(done)
        sid = require_open_shift(conn, actor)
        try:
            approval_id = record_approval(conn, actor, supervisor, kind, reason_code, "shift",
                                          sid, amount_minor)
            add_cash(conn, sid, kind, signed)
        except DBAPIError as exc:
            raise_refusal(exc)
        move = CashMove(sid, kind, signed, reason_code, approval_id)
        audit.append(conn, actor, kind, "shift", sid,
                     {"amount_minor": signed, "reason": reason_code,
                      "approval_id": str(approval_id)})
        finish_command(conn, key, move.to_json())
        return move


def approve_variance(ctx: CoreContext, actor: Actor, key: uuid.UUID | str,
                     shift_id: uuid.UUID | str, approver: SupervisorPin,
                     reason_code: str) -> ShiftClose:
    """A supervisor accepts the variance of a counted shift and closes it."""
    key = as_key(key)
    shift_id = as_key(shift_id)
    check_reason(reason_code, VARIANCE_REASONS)
    # Approved from the monitor, where the acting supervisor is the approver: the one who
    # must not approve is the cashier whose shift it is, checked once the shift is read.
    supervisor = verify_supervisor(ctx.engine, actor, approver, requested_by=None)
    with unit_of_work(ctx.engine) as conn:
        done = begin_command(conn, key, "approve_variance", {"shift_id": str(shift_id)},
                             actor.terminal_id, ctx.settings.database.lock_timeout_ms)
        if done is not None:
            return ShiftClose.from_json(done)
        shift = conn.execute(_LOCK_SHIFT, {"id": shift_id}).mappings().first()
        if shift is None:
            raise BoxOfficeError("unknown_shift", shift_id=str(shift_id))
        if shift["status"] != "pending_approval":
            raise BoxOfficeError("shift_not_open", status=shift["status"])
        if supervisor.id == shift["operator_id"]:
            raise BoxOfficeError("self_approval")
        result = _close(conn, ctx, actor, shift_id, int(shift["expected_cash_minor"]),
                        int(shift["counted_cash_minor"]), int(shift["variance_minor"]), True,
                        supervisor, reason_code, requested_by=shift["operator_id"])
        finish_command(conn, key, result.to_json())
        return result


def _close(conn: Connection, ctx: CoreContext, actor: Actor, shift_id: uuid.UUID,
           expected: int, counted: int, variance: int, needs: bool, supervisor: Any,
           reason_code: str | None, *, requested_by: int | None = None) -> ShiftClose:
    approval_id = None
    if needs and supervisor is not None:
        # The cashier closing with a supervisor at her side asked; from the monitor, the
        # shift's cashier did.
        approval_id = record_approval(conn, actor, supervisor, "shift_variance",
                                      reason_code or "other", "shift", shift_id, variance,
                                      requested_by=requested_by or actor.operator_id)
    status = "pending_approval" if needs and approval_id is None else "closed"
    try:
        conn.execute(
            text("update shifts set status = :s, expected_cash_minor = :e,"
                 " counted_cash_minor = :c, variance_minor = :v, approval_id = :a,"
                 " closed_at = case when :closing then now() else null end where id = :id"),
            {"s": status, "closing": status == "closed", "e": expected, "c": counted,
             "v": variance, "a": approval_id, "id": shift_id})
    except DBAPIError as exc:
        raise_refusal(exc)
    audit.append(conn, actor, "close_shift" if status == "closed" else "count_shift", "shift",
                 shift_id, {"expected_minor": expected, "counted_minor": counted,
                            "variance_minor": variance, "approval_id": approval_id})
    return ShiftClose(shift_id, status, expected, counted, variance,
                      needs and approval_id is None)


def x_report(ctx: CoreContext, shift_id: uuid.UUID | str) -> ShiftReport:
    """Mid-shift totals by tender (the drawer stays open)."""
    return _report(ctx, as_key(shift_id), "X")


def z_report(ctx: CoreContext, shift_id: uuid.UUID | str) -> ShiftReport:
    """The closing report of a closed shift, with count and variance."""
    rep = _report(ctx, as_key(shift_id), "Z")
    if rep.status != "closed":
        raise BoxOfficeError("shift_not_open", status=rep.status)
    return rep


def _report(ctx: CoreContext, shift_id: uuid.UUID, kind: str) -> ShiftReport:
    with ctx.engine.connect() as conn:
        s = conn.execute(text("select * from shifts where id = :id"),
                         {"id": shift_id}).mappings().first()
        if s is None:
            raise BoxOfficeError("unknown_shift", shift_id=str(shift_id))
        totals: dict[str, dict[str, int]] = {"card": {}, "cash": {}}
        for r in conn.execute(_SALES_BY_TENDER, {"id": shift_id}):
            totals[r.tender].update(sales_count=r.n, sales_minor=int(r.total))
        for r in conn.execute(_REFUNDS_BY_TENDER, {"id": shift_id}):
            totals[r.method].update(refunds_count=r.n, refunds_minor=int(r.total))
        cash = {r.kind: int(r.total) for r in conn.execute(_CASH_BY_KIND, {"id": shift_id})}
    return ShiftReport(
        kind=kind, shift_id=shift_id, terminal_id=s["terminal_id"],
        operator_id=s["operator_id"], status=s["status"], currency=s["currency"],
        opened_at=s["opened_at"], closed_at=s["closed_at"],
        opening_float_minor=int(s["opening_float_minor"]),
        by_tender={k: TenderTotals(**v) for k, v in totals.items()},
        cash_by_kind=cash, expected_cash_minor=sum(cash.values()),
        counted_cash_minor=s["counted_cash_minor"], variance_minor=s["variance_minor"],
    )


def _info(row: Any) -> ShiftInfo:
    return ShiftInfo(row["id"], row["terminal_id"], row["operator_id"], row["status"],
                     row["currency"], int(row["opening_float_minor"]))
