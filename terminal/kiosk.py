"""The kiosk session: the shared terminal session acting as the kiosk itself (no
operator, channel ``kiosk``, no cash drawer: core sells kiosk card sales without a
shift), plus what an unattended terminal needs: releasing its own leftover holds, a
readiness check before it takes money, waiting for the tickets to leave the printer, the
self-exclusion check. It has no cash, shift, refund or order methods."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from core.errors import BoxOfficeError
from terminal.printer import KioskPrinting
from terminal.results import EventShape, Readiness
from terminal.session import TerminalSession

if TYPE_CHECKING:
    from core.actors import Channel
    from core.outbox import CustomerContact
    from core.reservation import HoldResult
    from core.sales import CheckoutResult

log = logging.getLogger("kiosk")


class KioskSession(KioskPrinting, TerminalSession):
    kind: ClassVar[str] = "kiosk"
    channel: ClassVar[Channel] = "kiosk"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.released_at_start = 0
        # Runs once in the start worker before anything else (the bootstrap starts the
        # printer spooler and the gateway there, off the UI thread).
        self.before_start: Callable[[], Any] | None = None

    # --- start -------------------------------------------------------------------------
    def start(self) -> None:
        """Register the kiosk, finish or undo its interrupted sales, then let go of any
        hold it still has (a crash or restart: nobody is standing at it)."""
        with self._start_lock:
            if self.terminal_id is not None:
                return
            hook, self.before_start = self.before_start, None
            if hook is not None:
                hook()
            self._register()
            self._prepare_signer()
        self._recover()
        self.released_at_start = self.release_all()

    def _recover(self) -> None:
        from core.sales import recover_stuck_sales

        try:
            # Nothing else drives this kiosk's sales: take them over at once.
            recover_stuck_sales(self.ctx, older_than_s=0, terminal_id=self.terminal_id)
        except Exception:
            log.exception("stuck-sale recovery at start failed")

    def release_all(self) -> int:
        from core.kiosk import release_terminal_holds

        return release_terminal_holds(self.ctx, self.actor, uuid.uuid4())

    def warm_gateway(self) -> None:
        from core.payments import card_payments_on

        if card_payments_on(self.settings):
            self.ctx.payment_gateway()

    # --- readiness ---------------------------------------------------------------------
    def readiness(self) -> Readiness:
        """Printer (the spooler's last write) and the card circuit, both in-process reads:
        never a status query to the printer (unreliable, and slow on some models). A kiosk
        with no card gateway configured never offers a sale (it takes cards only): it
        stays out of service and says card payments are why."""
        reasons: list[str] = []
        printer = self.printer_health()
        if printer != "ok":
            reasons.append("printer")
        br = self.breaker().state
        if br in ("open", "off"):  # off: no gateway, or no reader to read the card
            reasons.append("card")
        return Readiness(tuple(reasons), printer, br)

    # --- selling -----------------------------------------------------------------------
    def event_shape(self, event_id: int) -> EventShape:
        from core.reservation import sections

        secs = sections(self.ctx.engine, event_id)
        if any(s.kind != "ga" for s in secs):
            return EventShape(True)
        priced = [s for s in secs if s.price_minor is not None] or secs
        return EventShape(False, priced[0].id if priced else None)

    def hold_for(self, key: uuid.UUID, event_id: int, quantity: int,
                 shape: EventShape) -> HoldResult:
        if shape.seated:
            return self.hold_best(key, event_id, quantity)
        if shape.ga_section_id is None:
            raise BoxOfficeError("sold_out", wanted=quantity)
        return self.hold_ga(key, event_id, shape.ga_section_id, quantity)

    def swap_hold(self, key: uuid.UUID, event_id: int, seat_ids: list[int],
                  old_hold: uuid.UUID) -> HoldResult:
        """Hold the seats the customer picked, then let go of the suggested ones (in that
        order: if the new seats are gone the customer keeps the old)."""
        new = self.hold_seats(key, event_id, seat_ids)
        self.release(uuid.uuid5(key, "release-old"), old_hold)
        return new

    def check_exclusion(self, identifier: str) -> None:
        from core.selfexclusion import is_excluded

        if is_excluded(self.ctx.engine, identifier):
            log.info("kiosk sale refused: self-excluded identifier")
            raise BoxOfficeError("self_excluded")

    def pay(self, key: uuid.UUID, hold: HoldResult, payment_method: str,
            contact: CustomerContact | None = None) -> CheckoutResult:
        """The card saga for a kiosk sale. Refuses before touching the card when the
        kiosk could not honour the sale (printer down, circuit open)."""
        from core.payments import SimulatedCardReader
        from core.sales import CardTender, checkout

        ready = self.readiness()
        if not ready.ok:
            raise BoxOfficeError("kiosk_not_ready", reason=",".join(ready.reasons))
        card = SimulatedCardReader.card(payment_method)
        return checkout(self.ctx, self.actor, key, hold.hold_id,
                        CardTender(card.payment_method, card.brand, card.last4),
                        contact=contact)
