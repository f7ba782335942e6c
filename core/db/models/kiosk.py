"""The self-exclusion list the kiosk checks before a sale (migration 0006)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models.base import Base, created_at_column


class SelfExclusion(Base):
    __tablename__ = "self_exclusions"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # SHA-256 of the normalized identifier: membership can be checked, never listed.
    identifier_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()
