"""The one place the screens reach core, printing and payments.

Screens call these methods from thread workers only. Other parts of the system (payments,
sales shifts, printing) land at their own pace, so each integration point is a small
method here: when a module is not installed yet the method says so with a clear error,
or (for cash) falls back to the reservation core that always exists.
"""

from __future__ import annotations

import importlib
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from core.errors import BoxOfficeError, register

if TYPE_CHECKING:
    from config import Settings
    from core.actors import Actor, OperatorInfo
    from core.app_context import CoreContext
    from core.monitor import CompactLayout
    from core.reservation import (
        Availability,
        EventInfo,
        HoldResult,
        HoldState,
        SectionInfo,
    )


def _res() -> Any:
    """core.reservation, imported on first use: the sign-in screen draws before SQLAlchemy
    and the database driver are loaded (cold start)."""
    import core.reservation

    return core.reservation


log = logging.getLogger(__name__)

register("feature_missing", "{what} is not installed on this terminal yet.",
         "{what} ainda não está instalado neste terminal.")
register("no_shift", "Open a shift first.", "Abra um turno primeiro.")
register("sync_unavailable", "Offline selling is not running on this terminal.",
         "A venda sem conexão não está ativa neste terminal.")


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


@dataclass(frozen=True, slots=True)
class ShiftInfo:
    shift_id: uuid.UUID
    opening_float_minor: int
    currency: str
    local_only: bool = False


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

    def supervisor(self) -> Any:
        from core.sales import SupervisorPin

        return SupervisorPin(self.login, self.pin) if self.login else None


@dataclass(frozen=True, slots=True)
class BreakerView:
    state: str  # closed | open | half_open | unknown
    reason: str = ""

    @property
    def card_allowed(self) -> bool:
        return self.state != "open"


class Services:
    """``ctx`` may be a CoreContext or a function that builds one; the latter runs on
    first use (in a worker), so the app can draw before the database is reached."""

    def __init__(self, ctx: CoreContext | Callable[[], CoreContext], terminal_name: str,
                 kind: str = "cashier", settings: Settings | None = None) -> None:
        self._ctx: CoreContext | None = None
        self._factory: Callable[[], CoreContext] | None = None
        if callable(ctx) and not hasattr(ctx, "engine"):
            self._factory = ctx
        else:
            self._ctx = ctx  # type: ignore[assignment]
        if settings is None:
            if self._ctx is None:
                from config import load_settings

                settings = load_settings()
            else:
                settings = self._ctx.settings
        self.settings: Settings = settings
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self.terminal_name = terminal_name
        self.kind = kind
        self.terminal_id: int | None = None
        self.operator: OperatorInfo | None = None
        self.shift: ShiftInfo | None = None
        self.extras: dict[str, Any] = {}
        self._layouts: dict[int, CompactLayout] = {}
        self.sync: Any | None = None  # sync.terminal.OfflineTerminal once started
        self._last_maps: dict[int, tuple[Any, str, Any]] = {}
        self._sync_listeners: list[Callable[[dict[str, Any]], Any]] = []

    @property
    def ready(self) -> bool:
        return self._ctx is not None

    @property
    def ctx(self) -> CoreContext:
        if self._ctx is None:
            with self._lock:
                if self._ctx is None:
                    assert self._factory is not None
                    self._ctx = self._factory()
        return self._ctx

    # --- session ---------------------------------------------------------------------
    def start(self) -> None:
        """Register the terminal (creates its audit chain) and finish interrupted sales."""
        from core.actors import register_terminal

        with self._start_lock:  # sign-in, heartbeat and the warm-up may all arrive at once
            if self.terminal_id is not None:
                return
            self.terminal_id = register_terminal(self.ctx.engine, self.terminal_name,
                                                 self.kind)
            signer = getattr(self.ctx, "signer", None)
            if signer is not None and self.kind == "cashier":
                # Built here, outside any transaction: built lazily inside the sale's
                # transaction it registers the key in a second transaction that waits on
                # the first one's audit-chain row lock until the statement timeout.
                try:
                    signer()
                except Exception:
                    log.exception("ticket signing key not ready")
        sales = _optional("core.sales")
        recover = getattr(sales, "recover_stuck_sales", None) if sales else None
        if recover is not None:
            try:
                recover(self.ctx)
            except Exception:
                log.exception("stuck-sale recovery at start failed")

    @property
    def actor(self) -> Actor:
        from core.actors import Actor

        if self.terminal_id is None:
            self.start()
        assert self.terminal_id is not None
        op = self.operator
        return Actor(terminal_id=self.terminal_id, terminal_name=self.terminal_name,
                     operator_id=op.id if op else None, role=op.role if op else None,
                     channel="counter")

    def sign_in(self, login: str, pin: str) -> OperatorInfo:
        if self.terminal_id is None:
            self.start()
        from core.actors import authenticate

        self.operator = authenticate(self.ctx.engine, login.strip(), pin.strip())
        self.shift = self.current_shift()
        return self.operator

    def sign_out(self) -> None:
        self.operator = None
        self.shift = None

    def verify_supervisor(self, login: str, pin: str) -> OperatorInfo:
        from core.actors import authenticate, require_role

        op = authenticate(self.ctx.engine, login.strip(), pin.strip())
        require_role(op, "supervisor", "admin")
        return op

    # --- shifts ----------------------------------------------------------------------
    def _shifts(self) -> Any | None:
        return _optional("core.sales.shifts") or _optional("core.sales")

    def current_shift(self) -> ShiftInfo | None:
        mod = self._shifts()
        fn = getattr(mod, "current_shift", None) if mod else None
        if fn is None or self.operator is None:
            return self.shift
        s = fn(self.ctx, self.actor)
        return _shift_info(s) if s is not None else None

    def open_shift(self, float_minor: int, key: uuid.UUID) -> ShiftInfo:
        mod = self._shifts()
        fn = getattr(mod, "open_shift", None) if mod else None
        cur = self.ctx.settings.sales.currency
        if fn is None:
            # Without the sales module the float is kept for this session only.
            self.shift = ShiftInfo(key, float_minor, cur, local_only=True)
            return self.shift
        self.shift = _shift_info(fn(self.ctx, self.actor, key, float_minor))
        return self.shift

    def x_report(self) -> dict[str, Any]:
        mod = self._shifts()
        fn = getattr(mod, "x_report", None) if mod else None
        if self.shift is None:
            raise BoxOfficeError("no_shift")
        if fn is None or self.shift.local_only:
            raise BoxOfficeError("feature_missing", what="X report")
        return report_dict(fn(self.ctx, self.shift.shift_id))

    def close_shift(self, counted_minor: int, key: uuid.UUID) -> dict[str, Any]:
        """Blind count. The result says ``needs_approval`` when the variance is over the
        threshold; then ``approve_variance`` closes it with a supervisor's PIN."""
        mod = self._shifts()
        fn = getattr(mod, "close_shift", None) if mod else None
        if self.shift is None:
            raise BoxOfficeError("no_shift")
        if fn is None or self.shift.local_only:
            raise BoxOfficeError("feature_missing", what="Shift close")
        result = _plain(fn(self.ctx, self.actor, key, counted_minor))
        if result.get("status") == "closed":
            self.shift = None
        return result

    def approve_variance(self, key: uuid.UUID, shift_id: str, login: str, pin: str,
                         reason: str) -> dict[str, Any]:
        mod = self._shifts()
        fn = getattr(mod, "approve_variance", None) if mod else None
        if fn is None:
            raise BoxOfficeError("feature_missing", what="Variance approval")
        from core.sales.approvals import SupervisorPin

        result = _plain(fn(self.ctx, self.actor, key, uuid.UUID(str(shift_id)),
                           SupervisorPin(login, pin), reason))
        if result.get("status") == "closed":
            self.shift = None
        return result

    # --- catalogue and seats ---------------------------------------------------------
    def events(self) -> list[EventInfo]:
        return _res().upcoming_events(self.ctx.engine)

    def seat_map(self, event_id: int) -> SeatMapData:
        from core.monitor import compact_layout, stage_label

        if self.sync is not None and not self.sync.online:
            return self._offline_seat_map(event_id)  # the dead link would only time out
        eng = self.ctx.engine
        res = _res()
        # The layout read (the big one) and the small reads overlap on two connections.
        with ThreadPoolExecutor(1) as pool:
            small = pool.submit(lambda: (res.sections(eng, event_id), stage_label(eng, event_id),
                                         res.availability(eng, event_id)))
            layout = self._layouts.get(event_id) or compact_layout(eng, event_id)
            secs, stage, avail = small.result()
        # Seats of a published event never move: keep the layout for the next opening.
        self._layouts[event_id] = layout
        self._last_maps[event_id] = (secs, stage, avail)  # what offline selling draws
        return SeatMapData(None, layout, secs, stage, avail)

    def _offline_seat_map(self, event_id: int) -> SeatMapData:
        """The last seat map read online (leased events are read when the terminal
        starts or takes leases), stamped now; offline only the lease is sellable."""
        from datetime import UTC, datetime

        layout, last = self._layouts.get(event_id), self._last_maps.get(event_id)
        if layout is None or last is None:
            raise BoxOfficeError("offline_not_in_lease")
        secs, stage, avail = last
        return SeatMapData(None, layout, secs, stage, replace(avail, as_of=datetime.now(UTC)))

    def _live(self) -> Any | None:
        """The Redis seat feed (core.live.LiveSeats) when the context has one."""
        for fn in getattr(self.ctx, "listeners", ()):
            if hasattr(fn, "subscribe") and hasattr(fn, "availability"):
                return fn
        return None

    def availability(self, event_id: int) -> Availability:
        live = self._live()
        if live is not None:
            return live.availability(event_id)  # Redis snapshot, PostgreSQL behind it
        return _res().availability(self.ctx.engine, event_id)

    def subscribe(self, event_id: int, on_change: Callable[[Any], Any]) -> Callable[[], None]:
        """Seat changes of the event pushed from other terminals (Redis pub/sub); without
        Redis nothing arrives and the seat map keeps polling."""
        live = self._live()
        if live is None:
            return lambda: None
        return live.subscribe([event_id], on_change)

    def hold_seats(self, key: uuid.UUID, event_id: int, seat_ids: list[int]) -> HoldResult:
        return _res().hold_seats(self.ctx, self.actor, key, event_id, seat_ids)

    def hold_best(self, key: uuid.UUID, event_id: int, quantity: int) -> HoldResult:
        return _res().hold_best_available(self.ctx, self.actor, key, event_id, quantity)

    def hold_ga(self, key: uuid.UUID, event_id: int, section_id: int,
                quantity: int) -> HoldResult:
        return _res().hold_general_admission(self.ctx, self.actor, key, event_id, section_id,
                                             quantity)

    def release(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        return _res().release_hold(self.ctx, self.actor, key, hold_id)

    def extend(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        return _res().extend_hold(self.ctx, self.actor, key, hold_id)

    # --- payments --------------------------------------------------------------------
    def breaker(self) -> BreakerView:
        """The card gateway's circuit as this terminal sees it. Only a gateway that was
        already built is asked (building one may start the sandbox server)."""
        if self._ctx is None:
            return BreakerView("unknown", "")
        gw = getattr(self._ctx, "gateway", None)
        if gw is None:
            return BreakerView("unknown", "")
        br = getattr(gw, "breaker", None)
        state = str(gw.breaker_state() if hasattr(gw, "breaker_state") else
                    getattr(br, "state", "unknown")).lower()
        reason = ""
        if state == "open":
            wait = getattr(br, "wait_in_open_s", None)
            reason = "payment gateway failing" + (f"; retry in ≤{int(wait)} s" if wait else "")
        return BreakerView(state, reason)

    def pay_cash(self, key: uuid.UUID, hold: HoldResult, tendered_minor: int,
                 customer_name: str | None = None,
                 exchange: ExchangeRequest | None = None) -> SaleOutcome:
        from core.sales import CashTender

        if isinstance(hold, OfflineCart):
            return self.sell_offline(hold, "cash", tendered_minor=tendered_minor,
                                     customer_name=customer_name)
        return self._checkout(key, hold, CashTender(tendered_minor), customer_name, exchange)

    def pay_card(self, key: uuid.UUID, hold: HoldResult, card: str,
                 customer_name: str | None = None,
                 exchange: ExchangeRequest | None = None) -> SaleOutcome:
        from core.sales import CardTender

        if isinstance(hold, OfflineCart):
            return self.sell_offline(hold, "card", card_ref=card, customer_name=customer_name)
        return self._checkout(key, hold, CardTender(payment_method=card), customer_name,
                              exchange)

    def _checkout(self, key: uuid.UUID, hold: HoldResult, tender: Any,
                  customer_name: str | None, exchange: ExchangeRequest | None) -> SaleOutcome:
        """The sale saga (hold -> authorize -> confirm -> capture), then printing. An
        exchange sells the new hold and refunds the old order as one command."""
        from core import sales

        if exchange is None:
            res = sales.checkout(self.ctx, self.actor, key, hold.hold_id, tender,
                                 customer_name=customer_name)
            refunded = 0
        else:
            ex = sales.exchange(self.ctx, self.actor, key, uuid.UUID(exchange.order_id),
                                hold.hold_id, tender, reason_code=exchange.reason,
                                approver=exchange.supervisor())
            res, refunded = ex.sale, ex.refund.amount_minor
        order = res.order
        outcome = SaleOutcome(order.number, str(order.order_id), res.amount_minor, res.currency,
                              res.change_minor, "ok", res.brand, res.last4, refunded)
        return self._print(outcome)

    def release_on_decline(self) -> bool:
        return bool(getattr(self.settings.sales, "release_hold_on_decline", False))

    # --- printing --------------------------------------------------------------------
    def _print(self, outcome: SaleOutcome) -> SaleOutcome:
        spooler = self.extras.get("spooler")
        if spooler is None:
            return replace(outcome, print_state="none")
        try:
            jobs = spooler.print_order(uuid.UUID(outcome.order_id), lang=_lang())
            state = spooler.state.message(_lang())
        except Exception as exc:  # the sale is committed; the spooler catches up later
            log.exception("print after sale failed")
            state = exc.message(_lang()) if isinstance(exc, BoxOfficeError) else "offline"
            jobs = []
        return replace(outcome, print_state=state, print_jobs=tuple(jobs))

    def printer_state(self) -> str:
        spooler = self.extras.get("spooler")
        if spooler is None:
            return "none"
        try:
            return spooler.state.message(_lang())
        except Exception:
            return "?"

    def printer_online(self) -> bool | None:
        spooler = self.extras.get("spooler")
        return None if spooler is None else spooler.state.online

    def queue_depth(self) -> int:
        spooler = self.extras.get("spooler")
        return int(spooler.pending) if spooler is not None else 0

    # --- orders ----------------------------------------------------------------------
    def find_orders(self, query: str) -> list[Any]:
        """By order number, customer name, ticket serial or a scanned QR token."""
        from core.monitor import find_orders

        q = query.strip()
        oid = self._order_from_ticket(q)
        return find_orders(self.ctx.engine, str(oid) if oid else q)

    def _order_from_ticket(self, q: str) -> uuid.UUID | None:
        if not q:
            return None
        try:
            from core.tickets.views import ticket_views
        except ImportError:
            return None
        digits = q.replace(" ", "")
        # Serials are printed as 9 digits in groups of three; order numbers are shorter.
        serial: int | None = int(digits) if digits.isdigit() and len(digits) >= 9 else None
        if serial is None and len(q) > 20:
            try:  # a scanned QR token: its (signed) claims carry the serial
                from core.tickets.token import parse

                serial = int(parse(q).claims.serial)
            except Exception:
                serial = None
        if serial is None:
            return None
        try:
            views = ticket_views(self.ctx.engine, serials=[serial])
        except Exception:
            return None
        return views[0].order_id if views else None

    def refund_needs_approval(self, order_id: str) -> str | None:
        from core.sales import refund_needs_approval

        return refund_needs_approval(self.ctx, self.actor, uuid.UUID(order_id))

    def refund(self, key: uuid.UUID, order_id: str, approval: Any) -> dict[str, Any]:
        """``approval`` carries the reason code and, when needed, the supervisor's login
        and PIN; core checks the PIN again and records the approval with the refund."""
        from core import sales

        res = sales.refund(self.ctx, self.actor, key, uuid.UUID(order_id),
                           reason_code=approval.reason,
                           approver=_supervisor_pin(approval))
        return _plain(res)

    def reprint(self, order_id: str, approval: Any | None = None) -> str:
        spooler = self.extras.get("spooler")
        if spooler is None:
            raise BoxOfficeError("feature_missing", what="Printer")
        sup = approval.operator if approval is not None and approval.login else None
        spooler.reprint_order(uuid.UUID(order_id), uuid.uuid4(), supervisor=sup,
                              actor=self.actor, reason=getattr(approval, "reason", "") or "")
        return spooler.state.message(_lang())

    def approve(self, approval_id: str, approval: Any) -> Any:
        """Approve what waits on the monitor (a counted shift's variance)."""
        from core.sales import approve_variance

        return _plain(approve_variance(self.ctx, self.actor, uuid.uuid4(),
                                       uuid.UUID(approval_id), _supervisor_pin(approval),
                                       approval.reason or "other"))

    # --- offline selling (sync) -------------------------------------------------------
    def start_sync(self) -> Callable[[], None]:
        """Build and start this terminal's ``sync.terminal.OfflineTerminal`` (journal,
        connectivity watch, background replay, configured leases); returns its stop."""
        from sync.cards import GatewayCardProcessor
        from sync.terminal import OfflineTerminal

        if self.sync is not None:
            return lambda: None
        ctx = self.ctx
        try:
            cards: Any = GatewayCardProcessor(ctx.payment_gateway())
        except Exception:  # no gateway: offline card sales are refused, cash still works
            log.exception("no card gateway for store-and-forward")
            cards = None
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

    def _term(self) -> Any:
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

    def offline_card_limits(self) -> tuple[int, int, int]:
        """(largest offline card sale, most card money held un-charged, held now)."""
        s = self.settings.sync
        held = self.sync.stored_card_total() if self.sync is not None else 0
        return s.floor_limit_minor, s.offline_card_total_minor, held

    def sell_offline(self, cart: OfflineCart, method: str, *, tendered_minor: int = 0,
                     card_ref: str | None = None,
                     customer_name: str | None = None) -> SaleOutcome:
        """Sell from the lease: journaled (fsynced) before this returns, then the tickets
        signed by this terminal go to the spooler. Replay happens in the background."""
        term = self._term()
        if method == "card" and term.cards is None:
            raise BoxOfficeError("feature_missing", what="Store-and-forward card")
        op = self.operator
        sale = term.sell_from_lease(
            cart.event_id, seat_ids=list(cart.seat_ids) or None, ga_qty=cart.ga_qty,
            ga_section_id=cart.ga_section_id, method=method,  # type: ignore[arg-type]
            card_ref=card_ref, operator_id=op.id if op else None,
            customer_name=customer_name, shift_id=self.shift.shift_id if self.shift and
            not self.shift.local_only else None,
            operator_name=op.display_name if op else None)
        cash = method == "cash"
        outcome = SaleOutcome(int(sale.order_number or 0), str(sale.order_id), sale.total_minor,
                              sale.currency, tendered_minor - sale.total_minor if cash else 0,
                              "none", offline=True, card_risk_minor=sale.card_risk_minor)
        spooler = self.extras.get("spooler")
        if spooler is None:
            return outcome
        try:  # the sale is durable already: a printer problem must not undo it
            from printing.model import receipt_for

            views = term.ticket_views(sale)
            receipt = receipt_for(views, "cash" if cash else "card",
                                  tendered_minor=tendered_minor if cash else None,
                                  payment_ref=f"offline:{sale.key}", lang=_lang())
            jobs = spooler.submit_order(views, receipt, lang=_lang())
            state = spooler.state.message(_lang())
        except Exception as exc:
            log.exception("printing an offline sale failed")
            state = exc.message(_lang()) if isinstance(exc, BoxOfficeError) else "offline"
            jobs = []
        return replace(outcome, print_state=state, print_jobs=tuple(jobs))

    def take_leases(self) -> tuple[int, int]:
        """Online: pick up leases a supervisor took for this terminal and take the
        configured ``[[sync.auto_leases]]`` it lacks now. Returns (taken, places leased)."""
        term = self._term()
        term.refresh_leases()
        taken = term.take_auto_leases()
        left = sum(x.remaining for x in term.leases.all(("active",)))
        self._read_leased_maps()
        return taken, left

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

    # --- health ----------------------------------------------------------------------
    def heartbeat(self, state: dict[str, Any]) -> None:
        from core.heartbeat import beat

        if self.terminal_id is None:
            self.start()
        assert self.terminal_id is not None
        beat(self.ctx.engine, self.terminal_id, state)

    def monitor_snapshot(self) -> Any:
        from core.monitor import snapshot

        stale = max(15.0, self.ctx.settings.terminal.heartbeat_s * 3)
        return snapshot(self.ctx.engine, stale, self.ctx.settings.sales.currency)


def _lang() -> str:
    from boxoffice_tui.i18n import language

    return language()


def _supervisor_pin(approval: Any) -> Any:
    if approval is None or not getattr(approval, "login", ""):
        return None
    from core.sales import SupervisorPin

    return SupervisorPin(approval.login, approval.pin)


def _plain(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if hasattr(v, "to_json"):
        return v.to_json()
    if hasattr(v, "__dataclass_fields__"):
        return {k: getattr(v, k) for k in v.__dataclass_fields__}
    return {"result": v}


def report_dict(rep: Any) -> dict[str, Any]:
    """A shift report as plain nested data for the report dialog."""
    if isinstance(rep, dict):
        return rep
    out: dict[str, Any] = {}
    for k in getattr(rep, "__dataclass_fields__", {}):
        v = getattr(rep, k)
        if isinstance(v, dict):
            v = {kk: (_plain(vv) if hasattr(vv, "__dataclass_fields__") else vv)
                 for kk, vv in v.items()}
        out[k] = v
    return out


def _shift_info(s: Any) -> ShiftInfo:
    if isinstance(s, ShiftInfo):
        return s
    get = s.get if isinstance(s, dict) else lambda k, d=None: getattr(s, k, d)
    sid = get("shift_id") or get("id")
    return ShiftInfo(uuid.UUID(str(sid)), int(get("opening_float_minor", 0) or 0),
                     str(get("currency", "BRL") or "BRL"))
