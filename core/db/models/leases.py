"""Offline allocations: seats or a GA quota leased to one terminal, the sales applied
from them after replay, and the replayed commands that could no longer apply."""

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


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint("kind in ('seats','ga')", name="kind"),
        CheckConstraint("status in ('active','returned','revoked')", name="status"),
        CheckConstraint("ga_sold >= 0 and ga_sold <= ga_quota", name="ga_counts"),
        Index("ix_leases_terminal_status", "terminal_id", "status"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    kind: Mapped[str] = mapped_column(String(5))
    # GA leases: one section, a quota, and how much of it was sold (as replayed).
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    ga_quota: Mapped[int] = mapped_column(Integer, default=0)
    ga_sold: Mapped[int] = mapped_column(Integer, default=0)
    ga_unit_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    ga_tier_id: Mapped[int | None] = mapped_column(ForeignKey("price_tiers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default="active")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[datetime] = created_at_column()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_units: Mapped[int] = mapped_column(Integer, default=0)
    # Ticket serials reserved when the lease was taken (one per seat or GA unit), so an
    # offline terminal signs tickets whose serials nobody else can use.
    serials: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    # Order numbers reserved the same way (one per unit: the most orders it can make), so
    # an offline receipt and ticket already show the order's final number.
    order_numbers: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)


class LeaseSeat(Base):
    """What was leased, with the price quoted then (what the terminal charges offline).
    Immutable, so returning a lease finds its seats without an index on event_seats."""

    __tablename__ = "lease_seats"
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))


class LeaseSale(Base):
    """One row per offline sale applied centrally (the order it became)."""

    __tablename__ = "lease_sales"
    __table_args__ = (
        CheckConstraint("payment_method in ('cash','card_saf')", name="method"),
        CheckConstraint("card_status is null or card_status in ('pending','captured','declined')",
                        name="card_status"),
    )
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    lease_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leases.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    command_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    payment_method: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_status: Mapped[str | None] = mapped_column(String(10))
    card_ref: Mapped[str | None] = mapped_column(String(120))
    # Set when a supervisor must look at this sale (e.g. card declined at capture).
    flag: Mapped[str | None] = mapped_column(String(40))
    sold_at_terminal: Mapped[str | None] = mapped_column(String(40))
    applied_at: Mapped[datetime] = created_at_column()


class SyncConflict(Base):
    """A journaled command that could no longer apply (event canceled, lease revoked):
    kept here for a supervisor, never silently dropped."""

    __tablename__ = "sync_conflicts"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    command_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    command: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONB)
    error_code: Mapped[str] = mapped_column(String(40))
    error: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
