"""A customer's email address for an order's e-tickets, with the consent they gave
(migration 0010). Only the worker reads it; sellers insert it for their own orders."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column


class OrderContact(Base):
    __tablename__ = "order_contacts"
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("orders.id"),
                                                primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    consent_text: Mapped[str] = mapped_column(String(60))
    consent_at: Mapped[datetime] = created_at_column()

