"""Rooms, their seats, events and the price tiers per section."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column


class Venue(Base):
    __tablename__ = "venues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    # Where the stage is drawn on the seat map, in seat-grid units.
    stage_label: Mapped[str] = mapped_column(String(40), default="STAGE")


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (
        UniqueConstraint("venue_id", "code"),
        CheckConstraint("kind in ('seated','ga')", name="kind"),
        CheckConstraint("capacity >= 0", name="capacity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    capacity: Mapped[int] = mapped_column(Integer)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Seat(Base):
    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("section_id", "row_label", "number"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    row_label: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    companion: Mapped[bool] = mapped_column(Boolean, default=False)
    obstructed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lower is better; comparable across the sections of one venue.
    quality_rank: Mapped[int] = mapped_column(Integer)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("status in ('draft','on_sale','paused','closed','canceled')",
                        name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    doors_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sales_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sales_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    # Back office (migration 0009): per-event hold lifetimes (None: the terminal's
    # setting), age gate, dynamic pricing switch, the price change (percent) above which
    # a second supervisor approves, the event it was cloned from, and cancellation.
    counter_hold_s: Mapped[int | None] = mapped_column(Integer)
    kiosk_hold_s: Mapped[int | None] = mapped_column(Integer)
    min_age: Mapped[int | None] = mapped_column(Integer)
    dynamic_pricing: Mapped[bool] = mapped_column(Boolean, default=True)
    price_approval_over_pct: Mapped[int] = mapped_column(Integer, default=20)
    cloned_from: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))


class PriceTier(Base):
    __tablename__ = "price_tiers"
    __table_args__ = (
        UniqueConstraint("event_id", "section_id"),
        CheckConstraint("floor_minor <= current_minor and current_minor <= ceiling_minor",
                        name="bounds"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    name: Mapped[str] = mapped_column(String(60))
    base_minor: Mapped[int] = mapped_column(BigInteger)
    floor_minor: Mapped[int] = mapped_column(BigInteger)
    ceiling_minor: Mapped[int] = mapped_column(BigInteger)
    # What a hold quotes now; moved by pricing rules between floor and ceiling.
    current_minor: Mapped[int] = mapped_column(BigInteger)


class PricingRule(Base):
    __tablename__ = "pricing_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    kind: Mapped[str] = mapped_column(String(24))
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriceChange(Base):
    __tablename__ = "price_changes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"), index=True)
    old_minor: Mapped[int] = mapped_column(BigInteger)
    new_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(120))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    at: Mapped[datetime] = created_at_column()
    # The second supervisor who approved a change over the event's threshold (0009).
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
