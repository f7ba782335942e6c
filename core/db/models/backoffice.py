"""Back office records (migration 0009): why a seat is blocked, price changes waiting for
a second supervisor, and complimentary tickets with their reason."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column


class SeatBlock(Base):
    """A seat an event keeps off sale (event_seats.status = 'blocked'), and why."""

    __tablename__ = "seat_blocks"
    __table_args__ = (
        CheckConstraint("kind in ('house','press','technical','other')", name="kind"),
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    at: Mapped[datetime] = created_at_column()


class PriceRequest(Base):
    """A manual price over the event's threshold, waiting for another supervisor."""

    __tablename__ = "price_requests"
    __table_args__ = (
        CheckConstraint("status in ('pending','approved','rejected')", name="status"),
        CheckConstraint("decided_by is null or decided_by <> requested_by", name="not_self"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    old_minor: Mapped[int] = mapped_column(BigInteger)
    new_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class Comp(Base):
    """A complimentary order (price zero): who gave it and why."""

    __tablename__ = "comps"
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str | None] = mapped_column(String(120))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    created_at: Mapped[datetime] = created_at_column()
