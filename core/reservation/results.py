"""Plain results of the reservation services; they round-trip through command_log JSON."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class HoldLine:
    section_id: int
    seat_id: int | None
    qty: int
    unit_price_minor: int
    tier_id: int


@dataclass(frozen=True, slots=True)
class HoldResult:
    hold_id: uuid.UUID
    event_id: int
    expires_at: datetime
    total_minor: int
    currency: str
    lines: tuple[HoldLine, ...]
    adjacent: bool = True

    @property
    def seat_ids(self) -> tuple[int, ...]:
        return tuple(ln.seat_id for ln in self.lines if ln.seat_id is not None)

    @property
    def quantity(self) -> int:
        return sum(ln.qty for ln in self.lines)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["hold_id"] = str(self.hold_id)
        d["expires_at"] = self.expires_at.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HoldResult:
        return cls(
            hold_id=uuid.UUID(d["hold_id"]), event_id=d["event_id"],
            expires_at=datetime.fromisoformat(d["expires_at"]),
            total_minor=d["total_minor"], currency=d["currency"],
            lines=tuple(HoldLine(**ln) for ln in d["lines"]), adjacent=d.get("adjacent", True),
        )


@dataclass(frozen=True, slots=True)
class HoldState:
    hold_id: uuid.UUID
    status: str
    expires_at: datetime
    extensions: int

    def to_json(self) -> dict[str, Any]:
        return {"hold_id": str(self.hold_id), "status": self.status,
                "expires_at": self.expires_at.isoformat(), "extensions": self.extensions}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HoldState:
        return cls(uuid.UUID(d["hold_id"]), d["status"],
                   datetime.fromisoformat(d["expires_at"]), d["extensions"])


@dataclass(frozen=True, slots=True)
class OrderLineResult:
    line_id: int
    section_id: int
    seat_id: int | None
    qty: int
    unit_price_minor: int
    tier_id: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_id: uuid.UUID
    number: int
    event_id: int
    hold_id: uuid.UUID
    total_minor: int
    currency: str
    payment_ref: str
    lines: tuple[OrderLineResult, ...]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["order_id"] = str(self.order_id)
        d["hold_id"] = str(self.hold_id)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OrderResult:
        return cls(
            order_id=uuid.UUID(d["order_id"]), number=d["number"], event_id=d["event_id"],
            hold_id=uuid.UUID(d["hold_id"]), total_minor=d["total_minor"],
            currency=d["currency"], payment_ref=d["payment_ref"],
            lines=tuple(OrderLineResult(**ln) for ln in d["lines"]),
        )


@dataclass(frozen=True, slots=True)
class GaCount:
    section_id: int
    capacity: int
    held: int
    sold: int
    leased: int

    @property
    def available(self) -> int:
        return self.capacity - self.held - self.sold - self.leased


@dataclass(frozen=True, slots=True)
class Availability:
    """Seat states as one character per seat, in ``seat_ids`` order:
    A available, H held, S sold, B blocked, L leased. Expired holds read as A."""

    event_id: int
    seat_ids: tuple[int, ...]
    states: str
    ga: tuple[GaCount, ...]
    as_of: datetime
    # When the earliest live hold lapses: the snapshot changes then with no commit.
    next_expiry: datetime | None = None

    def state_of(self, seat_id: int) -> str:
        return self.states[self.seat_ids.index(seat_id)]

    def count(self, state: str) -> int:
        return self.states.count(state)
