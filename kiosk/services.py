"""The kiosk's one door to core, payments and printing (called from thread workers).

It extends the cashier's adapter (``boxoffice_tui.services.Services``): same seat-map
reads and holds, but the actor is the kiosk itself (no operator, channel ``kiosk``, no
cash drawer: core's saga sells kiosk card sales without a shift), and it adds what an
unattended terminal needs: releasing its own leftover holds, a readiness check before it
takes money, waiting for the tickets to leave the printer, the self-exclusion check.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boxoffice_tui.services import Services
from core.errors import BoxOfficeError

if TYPE_CHECKING:
    from config import Settings
    from core.actors import Actor
    from core.app_context import CoreContext
    from core.reservation import HoldResult
    from core.sales import CheckoutResult

log = logging.getLogger("kiosk")


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


class KioskServices(Services):
    def __init__(self, ctx: CoreContext | Any, terminal_name: str,
                 settings: Settings | None = None) -> None:
        super().__init__(ctx, terminal_name, kind="kiosk", settings=settings)
        self.released_at_start = 0
        # Runs once in the start worker before anything else (the app starts the printer
        # spooler and the gateway there, off the UI thread).
        self.before_start: Callable[[], Any] | None = None

    @property
    def actor(self) -> Actor:
        from core.actors import Actor

        if self.terminal_id is None:
            self.start()
        assert self.terminal_id is not None
        return Actor(terminal_id=self.terminal_id, terminal_name=self.terminal_name,
                     operator_id=None, role=None, channel="kiosk")

    # --- start and stop ----------------------------------------------------------------
    def start(self) -> None:
        """Register the kiosk, finish or undo its interrupted sales, then let go of any
        hold it still has (a crash or restart: nobody is standing at it)."""
        from core.actors import register_terminal

        with self._start_lock:
            if self.terminal_id is not None:
                return
            hook, self.before_start = self.before_start, None
            if hook is not None:
                hook()
            self.terminal_id = register_terminal(self.ctx.engine, self.terminal_name, "kiosk")
            try:
                # Outside any transaction: made lazily inside the sale's transaction the
                # key registration would wait on that transaction's own locks.
                self.ctx.signer()
            except Exception:
                log.exception("ticket signing key not ready")
        try:
            from core.sales import recover_stuck_sales

            # Nothing else drives this kiosk's sales: take them over at once.
            recover_stuck_sales(self.ctx, older_than_s=0, terminal_id=self.terminal_id)
        except Exception:
            log.exception("stuck-sale recovery at start failed")
        self.released_at_start = self.release_all()

    def release_all(self) -> int:
        from core.kiosk import release_terminal_holds

        return release_terminal_holds(self.ctx, self.actor, uuid.uuid4())

    def warm_gateway(self) -> None:
        self.ctx.payment_gateway()

    # --- readiness ---------------------------------------------------------------------
    def readiness(self) -> Readiness:
        """Printer (the spooler's last write) and the card circuit, both in-process reads:
        never a status query to the printer (unreliable, and slow on some models)."""
        reasons: list[str] = []
        printer = self.printer_health()
        if printer != "ok":
            reasons.append("printer")
        br = self.breaker().state
        if br == "open":
            reasons.append("card")
        return Readiness(tuple(reasons), printer, br)

    def printer_health(self) -> str:
        spooler = self.extras.get("spooler")
        if spooler is None:
            return "none"
        st = spooler.state
        if st.online is False:
            return "offline"
        if st.failed and st.last_error:
            # A job that can never print and nothing printed since: misconfigured printer.
            return "failed"
        return "ok"

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

    def pay(self, key: uuid.UUID, hold: HoldResult, payment_method: str) -> CheckoutResult:
        """The card saga for a kiosk sale. Refuses before touching the card when the
        kiosk could not honour the sale (printer down, circuit open)."""
        from core.payments import SimulatedCardReader
        from core.sales import CardTender, checkout

        ready = self.readiness()
        if not ready.ok:
            raise BoxOfficeError("kiosk_not_ready", reason=",".join(ready.reasons))
        card = SimulatedCardReader.card(payment_method)
        return checkout(self.ctx, self.actor, key, hold.hold_id,
                        CardTender(card.payment_method, card.brand, card.last4))

    def print_tickets(self, order_id: uuid.UUID, lang: str) -> list[int]:
        spooler = self.extras.get("spooler")
        if spooler is None:
            raise BoxOfficeError("feature_missing", what="Printer")
        return list(spooler.print_order(order_id, lang="pt-BR" if lang == "pt-BR" else "en"))

    def withdraw_print(self, order_id: uuid.UUID) -> int:
        """The customer was sent to the counter: those tickets must not print here later."""
        spooler = self.extras.get("spooler")
        return 0 if spooler is None else spooler.withdraw_order(order_id)

    def wait_printed(self, job_ids: list[int], timeout_s: float) -> bool:
        """True once every job printed; False as soon as the printer refuses one (the
        spooler keeps it queued and retries) or when ``timeout_s`` passes."""
        spooler = self.extras.get("spooler")
        if spooler is None or not job_ids:
            return False
        deadline = time.monotonic() + timeout_s
        while True:
            states = [getattr(spooler.job(j), "state", "failed") for j in job_ids]
            if all(s == "printed" for s in states):
                return True
            if "failed" in states or spooler.state.online is False:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Wakes when the queue empties (or after a short slice to re-read the states).
            spooler.wait_idle(min(left, 0.1))


def _register_codes() -> None:
    from core.errors import register

    register("kiosk_not_ready", "This kiosk cannot take payments now ({reason}).",
             "Este terminal não pode receber pagamentos agora ({reason}).")


_register_codes()
