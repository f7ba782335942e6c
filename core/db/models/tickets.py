"""Issued tickets (one per seat or GA unit), the keys that signed them, check-ins and
the revocation list that gates load for offline checks."""

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
    LargeBinary,
    Sequence,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column

# Serials come from one sequence so they are unique across terminals without a lock.
TICKET_SERIAL_SEQ = Sequence("ticket_serial_seq", start=100_000_001, metadata=Base.metadata)


class TicketKey(Base):
    """Every public key a terminal ever signed with. ``terminals.public_key`` holds only
    the current one; a terminal that loses its data dir makes a new key, and the tickets
    it signed before must still verify."""

    __tablename__ = "ticket_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at_column()
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("status in ('valid','void','used')", name="status"),
        CheckConstraint("print_count >= 0 and reprint_count >= 0", name="counts"),
        UniqueConstraint("line_id", "unit"),
        Index("ix_tickets_event_status", "event_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    # 1..qty within the order line: a GA line of 4 yields units 1-4; a seat is unit 1.
    unit: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))
    key_id: Mapped[str] = mapped_column(ForeignKey("ticket_keys.key_id"))
    token: Mapped[str] = mapped_column(Text)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    status: Mapped[str] = mapped_column(String(8), default="valid")
    # Copies that reached a printer, and duplicates authorized after the original.
    print_count: Mapped[int] = mapped_column(Integer, default=0)
    reprint_count: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = created_at_column()
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_gate: Mapped[str | None] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(String(200))


class Checkin(Base):
    """One row per accepted entry; the unique ticket_id is the last line of defence
    against a second entry (the conditional update on tickets is the first)."""

    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    serial: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    gate: Mapped[str] = mapped_column(String(64))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    # Scanned offline and uploaded later: ``at`` is the gate's own clock then.
    offline: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = created_at_column()


class Revocation(Base):
    """Serials that must not enter (refunded or voided); exported to gate snapshots."""

    __tablename__ = "revocations"
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    revoked_at: Mapped[datetime] = created_at_column()
