"""What can be sold: one locked row per seat per event, one counter row per GA section."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base


class EventSeat(Base):
    """The row that is locked. Seat attributes used by best-available are copied here
    so the hot queries never join."""

    __tablename__ = "event_seats"
    __table_args__ = (
        CheckConstraint("status in ('available','held','sold','blocked','leased')",
                        name="status"),
        CheckConstraint("(status = 'held') = (hold_id is not null)", name="hold_consistent"),
        CheckConstraint("status <> 'sold' or order_id is not null", name="sold_has_order"),
        # Only immutable columns are indexed, so every status change is a HOT update
        # (no index writes, less bloat on the hottest table); holds find their seats
        # through hold_items, by primary key.
        # Best-available walks one section in quality order and stops after a window of
        # free seats (LIMIT), instead of sorting the whole section on every hold.
        Index("ix_event_seats_pick", "event_id", "section_id", "quality_rank", "seat_id"),
        # Neighbour look-ups for orphan avoidance (which seats beside a block are free).
        Index("ix_event_seats_row", "event_id", "section_id", "row_label", "seat_number"),
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    row_label: Mapped[str] = mapped_column(String(8))
    seat_number: Mapped[int] = mapped_column(Integer)
    quality_rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="available")
    hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lease_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Bumped on every change so caches and seat maps can tell what is newer.
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class GaInventory(Base):
    __tablename__ = "ga_inventory"
    __table_args__ = (
        CheckConstraint("held >= 0 and sold >= 0 and leased >= 0", name="non_negative"),
        CheckConstraint("held + sold + leased <= capacity", name="capacity"),
        ForeignKeyConstraint(["section_id"], ["sections.id"]),
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    leased: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
