"""Money side of a sale: the saga's state, payments, shifts and their cash, refunds and
the supervisor approvals that allowed them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column

SALE_STATES = ("authorizing", "authorized", "voiding", "capturing", "reversing",
               "completed", "declined", "voided", "reversed", "failed")
OPEN_SALE_STATES = ("authorizing", "authorized", "voiding", "capturing", "reversing")
# States in which the sale still needs its hold; a sale being voided has let go of it, so
# the cashier can take the same hold in cash at once.
HOLD_IN_USE_STATES = ("authorizing", "authorized", "capturing")


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("status in ('open','pending_approval','closed')", name="status"),
        # One drawer per terminal: a second open shift on the same terminal is refused.
        Index("uq_shifts_open_terminal", "terminal_id", unique=True,
              postgresql_where="status <> 'closed'"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    currency: Mapped[str] = mapped_column(String(3))
    opening_float_minor: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expected_cash_minor: Mapped[int | None] = mapped_column(BigInteger)
    counted_cash_minor: Mapped[int | None] = mapped_column(BigInteger)
    variance_minor: Mapped[int | None] = mapped_column(BigInteger)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approvals.id"))


class Sale(Base):
    """The saga's write-ahead record: written before and after every external call."""

    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint("tender in ('card','cash')", name="tender"),
        CheckConstraint("state in ('" + "','".join(SALE_STATES) + "')", name="state"),
        # At most one sale in flight per hold: a double click cannot authorize twice.
        Index("uq_sales_hold_in_flight", "hold_id", unique=True,
              postgresql_where="state in ('" + "','".join(HOLD_IN_USE_STATES) + "')"),
        Index("ix_sales_open", "updated_at",
              postgresql_where="state in ('" + "','".join(OPEN_SALE_STATES) + "')"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("holds.id"), index=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    tender: Mapped[str] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str | None] = mapped_column(String(80))
    intent_id: Mapped[str | None] = mapped_column(String(120), index=True)
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    tendered_minor: Mapped[int | None] = mapped_column(BigInteger)
    change_minor: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The CheckoutResult returned to the caller, so a repeated key gets the same answer.
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Payment(Base):
    """Money that moved (or was promised): never a card number, only gateway references."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("kind in ('charge','refund')", name="kind"),
        CheckConstraint("method in ('card','cash')", name="method"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sale_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales.id"), index=True)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    gateway_ref: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = created_at_column()


class CashMovement(Base):
    """Every coin in or out of a drawer; expected cash is the sum of these."""

    __tablename__ = "cash_movements"
    __table_args__ = (
        CheckConstraint("kind in ('float','sale','refund','paid_in','paid_out')", name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shift_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shifts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed: out of the drawer < 0
    sale_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales.id"))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("refunds.id"))
    created_at: Mapped[datetime] = created_at_column()


class Approval(Base):
    """Dual control: who asked, who approved, why."""

    __tablename__ = "approvals"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    approved_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    reason_code: Mapped[str] = mapped_column(String(30))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("method in ('card','cash')", name="method"),
        # owed: a cash refund of a canceled show, paid out later at a counter (0009).
        CheckConstraint("status in ('pending','succeeded','owed')", name="status"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    sale_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales.id"))
    line_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    method: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason_code: Mapped[str] = mapped_column(String(30))
    gateway_ref: Mapped[str | None] = mapped_column(String(120))
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approvals.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
