"""Reservation services: hold, release, extend, expire, confirm, and availability reads."""

from core.reservation.availability import (
    EventInfo,
    SeatInfo,
    SectionInfo,
    availability,
    seat_layout,
    sections,
    upcoming_events,
)
from core.reservation.confirm import confirm_in, confirm_sale
from core.reservation.expiry import expire_holds
from core.reservation.holds import (
    extend_hold,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
)
from core.reservation.results import (
    Availability,
    GaCount,
    HoldLine,
    HoldResult,
    HoldState,
    OrderLineResult,
    OrderResult,
)

__all__ = [
    "Availability",
    "EventInfo",
    "GaCount",
    "HoldLine",
    "HoldResult",
    "HoldState",
    "OrderLineResult",
    "OrderResult",
    "SeatInfo",
    "SectionInfo",
    "availability",
    "confirm_in",
    "confirm_sale",
    "expire_holds",
    "extend_hold",
    "hold_best_available",
    "hold_general_admission",
    "hold_seats",
    "release_hold",
    "seat_layout",
    "sections",
    "upcoming_events",
]
