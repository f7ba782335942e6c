"""Holds (with the prices quoted when taken) and the orders they become."""

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
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column


class Hold(Base):
    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("status in ('active','released','expired','confirmed')", name="status"),
        Index("ix_holds_active_expiry", "expires_at", postgresql_where="status = 'active'"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    channel: Mapped[str] = mapped_column(String(8))  # counter | kiosk
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HoldItem(Base):
    __tablename__ = "hold_items"
    __table_args__ = (CheckConstraint("qty > 0", name="qty"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("holds.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status in ('paid','partially_refunded','refunded','canceled')", name="status"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Short number a cashier can read out to a customer.
    number: Mapped[int] = mapped_column(BigInteger, Identity(start=100001), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("holds.id"), unique=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    shift_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(20), default="paid")
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_ref: Mapped[str] = mapped_column(String(120))
    customer_name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = created_at_column()


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("status in ('sold','refunded')", name="status"),
        CheckConstraint("qty > 0", name="qty"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))
    status: Mapped[str] = mapped_column(String(10), default="sold")
