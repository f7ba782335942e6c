"""Plain results and commands of the lease services; they round-trip through JSON
(command_log results, the terminal's journal and its lease snapshot)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

PaymentMethod = Literal["cash", "card_saf"]


@dataclass(frozen=True, slots=True)
class LeasedSeat:
    seat_id: int
    section_id: int
    row_label: str
    number: int
    unit_price_minor: int
    tier_id: int
    status: str = "leased"  # as seen centrally: leased | sold | available (returned)


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    lease_id: uuid.UUID
    terminal_id: int
    event_id: int
    kind: str  # seats | ga
    currency: str
    status: str
    seats: tuple[LeasedSeat, ...] = ()
    section_id: int | None = None
    ga_quota: int = 0
    ga_sold: int = 0
    ga_unit_price_minor: int | None = None
    ga_tier_id: int | None = None
    serials: tuple[int, ...] = ()
    order_numbers: tuple[int, ...] = ()
    # Names and times for printing tickets offline (see core.leases.service.event_display).
    display: dict[str, Any] = field(default_factory=dict)

    @property
    def units(self) -> int:
        return len(self.seats) if self.kind == "seats" else self.ga_quota

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["lease_id"] = str(self.lease_id)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LeaseInfo:
        d = dict(d)
        d["lease_id"] = uuid.UUID(d["lease_id"])
        d["seats"] = tuple(LeasedSeat(**s) for s in d.get("seats", ()))
        d["serials"] = tuple(d.get("serials", ()))
        d["order_numbers"] = tuple(d.get("order_numbers", ()))
        return cls(**d)


@dataclass(frozen=True, slots=True)
class LeaseReturn:
    lease_id: uuid.UUID
    status: str  # returned | revoked
    returned_units: int

    def to_json(self) -> dict[str, Any]:
        return {"lease_id": str(self.lease_id), "status": self.status,
                "returned_units": self.returned_units}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LeaseReturn:
        return cls(uuid.UUID(d["lease_id"]), d["status"], d["returned_units"])


@dataclass(frozen=True, slots=True)
class LeasedSale:
    """A sale a terminal made from its lease, possibly offline; ``order_id`` is chosen by
    the terminal so its receipt and tickets can name the order before the replay."""

    order_id: uuid.UUID
    lease_id: uuid.UUID
    event_id: int
    total_minor: int
    currency: str
    payment_method: PaymentMethod
    seat_ids: tuple[int, ...] = ()
    ga_qty: int = 0
    # Store-and-forward: a gateway payment-method reference to capture later; never a PAN.
    card_ref: str | None = None
    operator_id: int | None = None
    shift_id: uuid.UUID | None = None
    customer_name: str | None = None
    sold_at: str | None = None  # the terminal's clock, for the record only
    # From the lease's reserved block, so the receipt printed offline is the final one.
    order_number: int | None = None
    # Ticket tokens the terminal signed offline (printed already), one per seat/unit.
    tickets: tuple[dict[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        # Shallow, field by field: asdict() deep-copies every ticket dict and cost
        # half of an offline sale's client CPU in the journal benchmark.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["order_id"] = str(self.order_id)
        d["lease_id"] = str(self.lease_id)
        d["shift_id"] = str(self.shift_id) if self.shift_id else None
        d["seat_ids"] = list(self.seat_ids)
        d["tickets"] = [dict(t) for t in self.tickets]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LeasedSale:
        d = dict(d)
        d["order_id"] = uuid.UUID(d["order_id"])
        d["lease_id"] = uuid.UUID(d["lease_id"])
        d["shift_id"] = uuid.UUID(d["shift_id"]) if d.get("shift_id") else None
        d["seat_ids"] = tuple(d.get("seat_ids", ()))
        d["tickets"] = tuple(d.get("tickets", ()))
        return cls(**d)
