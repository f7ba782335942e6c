"""Selling through an outage: this counter's offline terminal (journal, connectivity
watch, leases, background replay) and the sales it makes from its leases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.errors import BoxOfficeError
from core.language import language
from terminal.results import (
    Approval,
    LeasesTaken,
    OfflineCardLimits,
    OfflineCart,
    OfflineLine,
    SaleOutcome,
)
from terminal.seats import SeatMaps
from terminal.shifts import Shifts

if TYPE_CHECKING:
    from config.settings import LeaseSpec
    from core.actors import OperatorInfo
    from sync.terminal import LeaseApprover, OfflineTerminal

log = logging.getLogger("terminal")


class OfflineSelling(Shifts, SeatMaps):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sync: OfflineTerminal | None = None
        self._sync_listeners: list[Callable[[dict[str, Any]], Any]] = []

    def selling_offline(self) -> bool:
        return self.sync is not None and not self.sync.online

    def start_sync(self) -> Callable[[], None]:
        """Build and start this terminal's offline terminal (journal, connectivity watch,
        background replay, configured leases); returns its stop."""
        from core.payments import card_payments_on
        from sync.cards import GatewayCardProcessor
        from sync.terminal import OfflineTerminal

        if self.sync is not None:
            return lambda: None
        ctx = self.ctx
        cards: GatewayCardProcessor | None = None
        try:
            if card_payments_on(self.settings):
                cards = GatewayCardProcessor(ctx.payment_gateway())
        except Exception:  # no gateway: offline card sales are refused, cash still works
            log.exception("no card gateway for store-and-forward")
        term = OfflineTerminal(ctx, self.actor, cards=cards)
        for fn in self._sync_listeners:
            term.subscribe(fn)
        term.start(background=True)
        self.sync = term
        self._read_leased_maps()
        state = term.status()
        for fn in self._sync_listeners:
            fn(state)
        return term.stop

    def sync_subscribe(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        """``fn(state)`` on every sync change, called on the sync threads (UIs must hop to
        their own thread)."""
        self._sync_listeners.append(fn)
        if self.sync is not None:
            self.sync.subscribe(fn)

    def _term(self) -> OfflineTerminal:
        if self.sync is None:
            raise BoxOfficeError("sync_unavailable")
        return self.sync

    def sync_status(self) -> dict[str, Any]:
        return self._term().status()

    def offline_lease_seats(self, event_id: int) -> frozenset[int]:
        """This terminal's unsold leased seats of the event (local book, no network)."""
        if self.sync is None:
            return frozenset()
        return frozenset(s.seat_id for lease in self.sync.leases.all(("active",))
                         if lease.info.event_id == event_id for s in lease.free_seats)

    def offline_ga_left(self, event_id: int, section_id: int) -> int:
        if self.sync is None:
            return 0
        return sum(x.remaining for x in self.sync.leases.all(("active",))
                   if x.info.event_id == event_id and x.info.kind == "ga"
                   and x.info.section_id == section_id)

    def offline_cart(self, event_id: int, seat_ids: list[int] | None = None,
                     ga_section_id: int | None = None, ga_qty: int = 0) -> OfflineCart:
        """Check the seats (or GA places) against the lease and price them from it;
        anything outside raises ``offline_not_in_lease``."""
        term = self._term()
        seats = sorted(set(seat_ids or ()))
        term.check_sellable_offline(event_id, seats, ga_qty)
        leases = [x for x in term.leases.all(("active",)) if x.info.event_id == event_id]
        if seats:
            price = {s.seat_id: s.unit_price_minor for x in leases for s in x.free_seats}
            lines = tuple(OfflineLine(s, 1, price[s]) for s in seats)
        else:
            ga = next((x for x in leases if x.info.kind == "ga"
                       and x.info.section_id == ga_section_id and x.remaining >= ga_qty), None)
            if ga is None or ga_qty <= 0:
                raise BoxOfficeError("offline_not_in_lease")
            lines = (OfflineLine(None, ga_qty, int(ga.info.ga_unit_price_minor or 0)),)
        currency = leases[0].info.currency if leases else self.settings.sales.currency
        return OfflineCart(event_id, tuple(seats), lines,
                           sum(ln.qty * ln.unit_price_minor for ln in lines), currency,
                           ga_section_id if not seats else None, 0 if seats else ga_qty)

    def offline_card_limits(self) -> OfflineCardLimits:
        s = self.settings.sync
        held = self.sync.stored_card_total() if self.sync is not None else 0
        return OfflineCardLimits(s.floor_limit_minor, s.offline_card_total_minor, held)

    def sell_offline(self, cart: OfflineCart, method: str, *, tendered_minor: int = 0,
                     card_ref: str | None = None,
                     customer_name: str | None = None) -> SaleOutcome:
        """Sell from the lease: journaled (fsynced) before this returns, then the tickets
        signed by this terminal go to the spooler. Replay happens in the background."""
        term = self._term()
        if method == "card" and term.cards is None:
            # No gateway to forward the card to later: refuse now, cash still works.
            raise BoxOfficeError("gateway_unavailable")
        op = self.operator
        sale = term.sell_from_lease(
            cart.event_id, seat_ids=list(cart.seat_ids) or None, ga_qty=cart.ga_qty,
            ga_section_id=cart.ga_section_id, method=method,  # type: ignore[arg-type]
            card_ref=card_ref, operator_id=op.id if op else None,
            customer_name=customer_name,
            shift_id=self.shift.shift_id if self.shift else None,
            operator_name=op.display_name if op else None)
        cash = method == "cash"
        outcome = SaleOutcome(int(sale.order_number or 0), str(sale.order_id), sale.total_minor,
                              sale.currency, tendered_minor - sale.total_minor if cash else 0,
                              "none", offline=True, card_risk_minor=sale.card_risk_minor)
        spooler = self.spooler
        if spooler is None:
            return outcome
        lang = language()
        try:  # the sale is durable already: a printer problem must not undo it
            from printing.model import receipt_for

            views = term.ticket_views(sale)
            receipt = receipt_for(views, "cash" if cash else "card",
                                  tendered_minor=tendered_minor if cash else None,
                                  payment_ref=f"offline:{sale.key}", lang=lang)
            jobs = spooler.submit_order(views, receipt, lang=lang)
            state = spooler.state().message(lang)
        except Exception as exc:
            log.exception("printing an offline sale failed")
            state = exc.message(lang) if isinstance(exc, BoxOfficeError) else "offline"
            jobs = []
        return replace(outcome, print_state=state, print_jobs=tuple(jobs))

    def take_leases(self, approval: Approval | None = None,
                    approved: Collection[str] = ()) -> LeasesTaken:
        """Online: pick up leases a supervisor took for this terminal and take the
        configured ``[[sync.auto_leases]]`` it lacks now.

        Without ``approval`` the ones the database grants only with a supervisor's PIN
        stay untaken and come back in ``needs_supervisor`` (the screen asks for one). With
        it (a supervisor's login and PIN, checked by the dialog), only those the dialog
        named (``approved``) are taken, each with a one-use proof of its own: the
        supervisor types the PIN once for the list she sees, and every lease is still
        approved in the database, one approval row each."""
        from sync.terminal import lease_label

        term = self._term()
        term.refresh_leases()
        approve = self._lease_approver(approval, approved) if approval else None
        got = term.take_auto_leases(approve)
        left = sum(x.remaining for x in term.leases.all(("active",)))
        self._read_leased_maps()
        return LeasesTaken(got.taken, left,
                           tuple(lease_label(x) for x in got.needs_supervisor))

    def _lease_approver(self, approval: Approval,
                        approved: Collection[str]) -> LeaseApprover:
        """One fresh proof per lease the supervisor was shown, none for any other. The
        dialog's own check minted the first (used, not wasted); the PIN is kept in this
        closure only for the length of the one F4, never stored."""
        from sync.terminal import lease_label

        shown = set(approved)
        first = [approval.operator] if approval.operator is not None \
            and approval.operator.proof is not None else []

        def approve(spec: LeaseSpec) -> OperatorInfo | None:
            label = lease_label(spec)
            if label not in shown:
                return None
            shown.discard(label)
            if first:
                return first.pop()
            # Each sign-in in the database mints one proof (and counts toward the
            # lock-out like any other PIN typed on this login).
            return self.verify_supervisor(approval.login, approval.pin)

        return approve

    def _read_leased_maps(self) -> None:
        """Read the seat maps of the leased events while online, so they open offline."""
        if self.sync is None or not self.sync.online:
            return
        for ev in {x.info.event_id for x in self.sync.leases.all(("active",))}:
            if ev not in self._last_maps:
                try:
                    self.seat_map(ev)
                except Exception:
                    log.exception("reading the seat map of leased event %s failed", ev)
