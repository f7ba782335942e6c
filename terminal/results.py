"""What the terminal sessions answer: small frozen dataclasses the screens render.

Core's own typed results (``ShiftInfo``, ``ShiftClose``, ``ShiftReport``, ``RefundResult``,
``CheckoutResult``) pass through unchanged; these are the ones that only a terminal needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.actors import OperatorInfo
    from core.monitor import CompactLayout
    from core.reservation import Availability, EventInfo, SectionInfo
    from core.sales import SupervisorPin


@dataclass(frozen=True, slots=True)
class Approval:
    """A supervisor's go-ahead as a dialog collected it: the reason code and, when a PIN
    was needed, the login and PIN (core checks the PIN again with the action)."""

    operator: OperatorInfo | None
    reason: str
    login: str
    pin: str = field(repr=False)

    def supervisor(self) -> SupervisorPin | None:
        return supervisor_pin(self.login, self.pin)


def supervisor_pin(login: str, pin: str) -> SupervisorPin | None:
    if not login:
        return None
    from core.sales import SupervisorPin

    return SupervisorPin(login, pin)


@dataclass(frozen=True, slots=True)
class SeatMapData:
    event: EventInfo | None
    layout: CompactLayout
    sections: list[SectionInfo]
    stage: str
    availability: Availability


@dataclass(frozen=True, slots=True)
class SaleOutcome:
    order_number: int
    order_id: str
    total_minor: int
    currency: str
    change_minor: int = 0
    print_state: str = "ok"
    card_brand: str | None = None
    card_last4: str | None = None
    refunded_minor: int = 0
    print_jobs: tuple[int, ...] = ()
    # Sold from this terminal's lease through the offline journal (sent when online).
    offline: bool = False
    card_risk_minor: int = 0


@dataclass(frozen=True, slots=True)
class OfflineLine:
    seat_id: int | None
    qty: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class OfflineCart:
    """What the cashier sells from this terminal's lease while offline. It stands in for
    a ``HoldResult`` in the cart and checkout (the lease is the hold: nobody else can take
    these seats), so it has no hold id and no expiry."""

    event_id: int
    seat_ids: tuple[int, ...]
    lines: tuple[OfflineLine, ...]
    total_minor: int
    currency: str
    ga_section_id: int | None = None
    ga_qty: int = 0
    hold_id: None = None
    offline: bool = True

    @property
    def quantity(self) -> int:
        return len(self.seat_ids) + self.ga_qty


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """An approved exchange waiting for the new seats to be sold."""

    order_id: str
    order_number: int
    reason: str
    login: str = ""
    pin: str = field(default="", repr=False)

    def supervisor(self) -> SupervisorPin | None:
        return supervisor_pin(self.login, self.pin)


@dataclass(frozen=True, slots=True)
class BreakerView:
    state: str  # closed | open | half_open | unknown | off (no gateway configured)
    reason: str = ""

    @property
    def card_allowed(self) -> bool:
        return self.state not in ("open", "off")


@dataclass(frozen=True, slots=True)
class OfflineCardLimits:
    """Store-and-forward card limits: the largest single sale, the most card money held
    un-charged, and what is held now."""

    floor_minor: int
    total_minor: int
    held_minor: int


@dataclass(frozen=True, slots=True)
class LeasesTaken:
    taken: int
    places_left: int
    # Configured leases the database grants only with a supervisor's PIN, as the
    # approval dialog names them (``sync.terminal.lease_label``).
    needs_supervisor: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Readiness:
    """Why the kiosk may not sell now: ``printer``, ``card`` or ``database`` (empty: OK)."""

    reasons: tuple[str, ...] = ()
    printer: str = "unknown"  # ok | offline | failed | none | unknown
    breaker: str = "unknown"

    @property
    def ok(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class EventShape:
    """How a show is sold: numbered seats, or general admission from one section."""

    seated: bool
    ga_section_id: int | None = None
