"""The supervisor monitor's session: the live snapshot, approving what waits on it, and
the console: a signed-in supervisor steers an event while it sells (pause and resume,
prices by hand, seat blocks, GA capacity) through the back-office services.

Every console method is a thin call to ``core.backoffice`` as the signed-in supervisor;
the screen passes the idempotency key it made when the supervisor confirmed, so a retry
after a lost answer does nothing twice. The services tell every terminal after commit
(Redis feed and polls), so counters and kiosks see a change within a second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar

from core.errors import BoxOfficeError
from terminal.session import TerminalSession

if TYPE_CHECKING:
    from core.actors import Actor, OperatorInfo
    from core.backoffice.events import EventDetail, EventRow
    from core.backoffice.inventory import BlockedSeat, GaCapacity, SeatsResult
    from core.backoffice.prices import PriceHistoryRow, PriceRequestRow, PriceResult
    from core.backoffice.staff import OperatorRow
    from core.backoffice.venues import RoomSummary
    from core.monitor import Snapshot
    from core.reports import MinuteSales, OccupancyLine, PricedEvent, PricePoint
    from core.sales import ShiftClose
    from terminal.results import Approval

CONSOLE_ROLES = ("supervisor", "admin")


@dataclass(frozen=True, slots=True)
class GaLine:
    """A general-admission section of the event, as the console shows it."""

    section: str
    name: str
    capacity: int
    held: int
    sold: int
    leased: int


@dataclass(frozen=True, slots=True)
class ConsoleView:
    """One event as the console shows it: the event with its prices, its GA sections
    and the price changes waiting for a second supervisor."""

    detail: EventDetail
    ga: tuple[GaLine, ...]
    requests: tuple[PriceRequestRow, ...]


class MonitorSession(TerminalSession):
    kind: ClassVar[str] = "monitor"

    def monitor_snapshot(self) -> Snapshot:
        from core.monitor import snapshot

        stale = max(15.0, self.settings.terminal.heartbeat_s * 3)
        return snapshot(self.ctx.engine, stale, self.settings.sales.currency)

    # --- the charts (sales history, read-only) -------------------------------------------
    def chart_tz(self) -> str:
        """The venues' time zone: the charts' days and hours are the casino's."""
        tz = getattr(self, "_chart_tz", None)
        if tz is None:
            from core.reports import default_tz

            tz = self._chart_tz = default_tz(self.ctx.engine)
        return str(tz)

    def chart_minute_sales(self, day: date | None = None) -> MinuteSales:
        """Sales per minute of today (or ``day``) against the same weekday last week."""
        from core.reports import minute_sales

        return minute_sales(self.ctx.engine, day=day, tz=self.chart_tz())

    def chart_occupancy(self, at: datetime | None = None) -> list[OccupancyLine]:
        from core.reports import occupancy_lines

        return occupancy_lines(self.ctx.engine, tz=self.chart_tz(), at=at)

    def chart_priced_events(self) -> list[PricedEvent]:
        from core.reports import priced_events

        return priced_events(self.ctx.engine)

    def chart_price_path(self, event_id: int) -> list[PricePoint]:
        from core.reports import price_path

        return price_path(self.ctx.engine, event_id)

    def approve(self, approval_id: str, approval: Approval) -> ShiftClose:
        """Approve what waits on the monitor (a counted shift's variance)."""
        from core.sales import approve_variance

        pin = approval.supervisor()
        if pin is None:
            raise BoxOfficeError("not_authorized", role="supervisor")
        return approve_variance(self.ctx, self.actor, uuid.uuid4(), uuid.UUID(approval_id),
                                pin, approval.reason or "other")

    # --- the console's sign-in ---------------------------------------------------------
    def supervisor_sign_in(self, login: str, pin: str) -> OperatorInfo:
        """A supervisor (or admin) signs in to act from the console. The PIN is checked
        by the database (``bo_authenticate``: failures counted, lock-out, and the time of
        a successful sign-in recorded in the same statement, so the monitor's login
        needs no write on operators); a cashier is refused."""
        from core.actors import authenticate, require_role

        if self.terminal_id is None:
            self.start()
        op = authenticate(self.ctx.engine, login.strip(), pin.strip())
        require_role(op, *CONSOLE_ROLES)
        self.operator = op
        return op

    def supervisor_sign_out(self) -> None:
        self.operator = None

    @property
    def supervisor(self) -> Actor:
        """The signed-in supervisor as the actor; nothing acts without one."""
        op = self.operator
        if op is None or op.role not in CONSOLE_ROLES:
            raise BoxOfficeError("not_authorized", role="/".join(CONSOLE_ROLES))
        return self.actor

    def _second(self, approval: Approval) -> Actor:
        """A second supervisor who typed their PIN on this console, as the actor."""
        from dataclasses import replace

        op = self.verify_supervisor(approval.login, approval.pin)
        return replace(self.supervisor, operator_id=op.id, role=op.role)

    # --- what exists (read-only) -------------------------------------------------------
    def console_events(self) -> list[EventRow]:
        from core.backoffice.events import list_events

        return [e for e in list_events(self.ctx.engine) if e.status != "canceled"]

    def event_detail(self, event_id: int) -> EventDetail:
        from core.backoffice.events import get_event

        return get_event(self.ctx.engine, event_id)

    def console_view(self, event_id: int) -> ConsoleView:
        from core.reservation import availability, sections

        detail = self.event_detail(event_id)
        eng = self.ctx.engine
        secs = {s.id: s for s in sections(eng, event_id)}
        ga = tuple(GaLine(secs[g.section_id].code, secs[g.section_id].name, g.capacity,
                          g.held, g.sold, g.leased)
                   for g in availability(eng, event_id).ga if g.section_id in secs)
        return ConsoleView(detail, ga, tuple(self.price_requests(event_id)))

    def rooms(self) -> list[RoomSummary]:
        from core.backoffice.venues import list_rooms

        return list_rooms(self.ctx.engine)

    def staff(self) -> list[OperatorRow]:
        from core.backoffice.staff import list_operators

        return list_operators(self.ctx.engine)

    def price_requests(self, event_id: int | None = None) -> list[PriceRequestRow]:
        from core.backoffice.prices import price_requests

        return price_requests(self.ctx.engine, event=event_id)

    def price_history(self, event_id: int) -> list[PriceHistoryRow]:
        from core.backoffice.prices import price_history

        return price_history(self.ctx.engine, event_id)

    def blocked_seats(self, event_id: int) -> list[BlockedSeat]:
        from core.backoffice.inventory import blocked_seats

        return blocked_seats(self.ctx.engine, event_id)

    # --- acting on an event ------------------------------------------------------------
    def set_sales(self, key: uuid.UUID, event_id: int, action: str) -> EventRow:
        """``pause`` or ``resume`` (or ``close``) the event's sales everywhere."""
        from core.backoffice.events import set_sales

        return set_sales(self.ctx, self.supervisor, key, event_id, action)

    def override_price(self, key: uuid.UUID, event_id: int, section: str, price_minor: int,
                       reason: str, approver: Approval | None = None) -> PriceResult:
        """Set a section's price now; over the event's threshold the result is
        ``pending`` unless ``approver`` (a second supervisor's PIN) came with it."""
        from core.backoffice.prices import override_price

        return override_price(self.ctx, self.supervisor, key, event_id, section, price_minor,
                              reason=reason, approver=approver.supervisor() if approver
                              else None)

    def decide_price(self, key: uuid.UUID, request_id: str, approve: bool,
                     approver: Approval | None = None) -> PriceResult:
        """Approve or reject a pending price change: as ``approver`` when a second
        supervisor typed their PIN here, else as the signed-in supervisor (core refuses
        the one who asked)."""
        from core.backoffice.prices import decide_request

        if approver is None:
            return decide_request(self.ctx, self.supervisor, key, request_id, approve=approve)
        from dataclasses import replace

        op = self.verify_supervisor(approver.login, approver.pin)
        actor = replace(self.supervisor, operator_id=op.id, role=op.role)
        return decide_request(self.ctx, actor, key, request_id, approve=approve, approver=op)

    def block_seats(self, key: uuid.UUID, event_id: int, seat_ids: list[int], kind: str,
                    reason: str) -> SeatsResult:
        from core.backoffice.inventory import block_seats

        return block_seats(self.ctx, self.supervisor, key, event_id, seat_ids, reason=reason,
                           kind=kind)

    def unblock_seats(self, key: uuid.UUID, event_id: int, seat_ids: list[int]) -> SeatsResult:
        from core.backoffice.inventory import unblock_seats

        return unblock_seats(self.ctx, self.supervisor, key, event_id, seat_ids)

    def release_blocked(self, key: uuid.UUID, event_id: int,
                        kind: str | None = None) -> SeatsResult:
        """Every blocked seat of ``kind`` (None: all) back on sale."""
        from core.backoffice.inventory import unblock_seats

        return unblock_seats(self.ctx, self.supervisor, key, event_id, None, kind=kind)

    def set_ga_capacity(self, key: uuid.UUID, event_id: int, section: str,
                        capacity: int) -> GaCapacity:
        from core.backoffice.inventory import set_ga_capacity

        return set_ga_capacity(self.ctx, self.supervisor, key, event_id, section, capacity)
