"""The one place the screens reach core, printing and payments.

Screens call these methods from thread workers only. Other parts of the system (payments,
sales shifts, printing) land at their own pace, so each integration point is a small
method here: when a module is not installed yet the method says so with a clear error,
or (for cash) falls back to the reservation core that always exists.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.actors import Actor, OperatorInfo, authenticate, register_terminal, require_role
from core.app_context import CoreContext
from core.errors import BoxOfficeError, register
from core.reservation import (
    Availability,
    EventInfo,
    HoldResult,
    HoldState,
    SeatInfo,
    SectionInfo,
    availability,
    extend_hold,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
    seat_layout,
    sections,
    upcoming_events,
)

log = logging.getLogger(__name__)

register("feature_missing", "{what} is not installed on this terminal yet.",
         "{what} ainda não está instalado neste terminal.")
register("no_shift", "Open a shift first.", "Abra um turno primeiro.")


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
    layout: list[SeatInfo]
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


@dataclass(frozen=True, slots=True)
class BreakerView:
    state: str  # closed | open | half_open | unknown
    reason: str = ""

    @property
    def card_allowed(self) -> bool:
        return self.state != "open"


@dataclass
class Services:
    ctx: CoreContext
    terminal_name: str
    kind: str = "cashier"
    terminal_id: int | None = None
    operator: OperatorInfo | None = None
    shift: ShiftInfo | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    # --- session ---------------------------------------------------------------------
    def start(self) -> None:
        """Register the terminal (creates its audit chain) and finish interrupted sales."""
        self.terminal_id = register_terminal(self.ctx.engine, self.terminal_name, self.kind)
        sales = _optional("core.payments.saga") or _optional("core.payments")
        recover = getattr(sales, "recover_stuck_sales", None) if sales else None
        if recover is not None:
            try:
                recover(self.ctx)
            except Exception:
                log.exception("stuck-sale recovery at start failed")

    @property
    def actor(self) -> Actor:
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
        self.operator = authenticate(self.ctx.engine, login.strip(), pin.strip())
        self.shift = self.current_shift()
        return self.operator

    def sign_out(self) -> None:
        self.operator = None
        self.shift = None

    def verify_supervisor(self, login: str, pin: str) -> OperatorInfo:
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
        return _plain(fn(self.ctx, self.actor, self.shift.shift_id))

    def close_shift(self, counted_minor: int, key: uuid.UUID,
                    approver: OperatorInfo | None = None) -> dict[str, Any]:
        mod = self._shifts()
        fn = getattr(mod, "close_shift", None) if mod else None
        if self.shift is None:
            raise BoxOfficeError("no_shift")
        if fn is None or self.shift.local_only:
            raise BoxOfficeError("feature_missing", what="Shift close")
        kwargs: dict[str, Any] = {}
        if approver is not None:
            kwargs["approved_by"] = approver.id
        result = _plain(fn(self.ctx, self.actor, key, self.shift.shift_id, counted_minor,
                           **kwargs))
        self.shift = None
        return result

    # --- catalogue and seats ---------------------------------------------------------
    def events(self) -> list[EventInfo]:
        return upcoming_events(self.ctx.engine)

    def seat_map(self, event_id: int) -> SeatMapData:
        from core.monitor import stage_label

        eng = self.ctx.engine
        ev = next((e for e in upcoming_events(eng) if e.id == event_id), None)
        return SeatMapData(ev, seat_layout(eng, event_id), sections(eng, event_id),
                           stage_label(eng, event_id), availability(eng, event_id))

    def availability(self, event_id: int) -> Availability:
        return availability(self.ctx.engine, event_id)

    def hold_seats(self, key: uuid.UUID, event_id: int, seat_ids: list[int]) -> HoldResult:
        return hold_seats(self.ctx, self.actor, key, event_id, seat_ids)

    def hold_best(self, key: uuid.UUID, event_id: int, quantity: int) -> HoldResult:
        return hold_best_available(self.ctx, self.actor, key, event_id, quantity)

    def hold_ga(self, key: uuid.UUID, event_id: int, section_id: int,
                quantity: int) -> HoldResult:
        return hold_general_admission(self.ctx, self.actor, key, event_id, section_id, quantity)

    def release(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        return release_hold(self.ctx, self.actor, key, hold_id)

    def extend(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        return extend_hold(self.ctx, self.actor, key, hold_id)

    # --- payments --------------------------------------------------------------------
    def breaker(self) -> BreakerView:
        mod = _optional("core.payments")
        fn = getattr(mod, "breaker_state", None) if mod else None
        if fn is None:
            gw = self.extras.get("gateway")
            br = getattr(gw, "breaker", None)
            if br is None:
                return BreakerView("unknown", "")
            return BreakerView(str(getattr(br, "state", "unknown")).lower(),
                               str(getattr(br, "reason", "") or ""))
        st = fn(self.ctx)
        if isinstance(st, BreakerView):
            return st
        state = str(getattr(st, "state", st)).lower().replace("-", "_")
        state = state.rsplit(".", 1)[-1]
        return BreakerView(state, str(getattr(st, "reason", "") or ""))

    def pay_cash(self, key: uuid.UUID, hold: HoldResult, tendered_minor: int,
                 customer_name: str | None = None) -> SaleOutcome:
        change = tendered_minor - hold.total_minor
        if change < 0:
            raise BoxOfficeError("invalid_input", detail="tendered < total")
        mod = _optional("core.payments")
        checkout = getattr(mod, "checkout", None) if mod else None
        if checkout is None:
            from core.reservation import confirm_sale

            order = confirm_sale(self.ctx, self.actor, key, hold.hold_id, f"cash:{key}",
                                 shift_id=self.shift.shift_id if self.shift and
                                 not self.shift.local_only else None,
                                 customer_name=customer_name,
                                 expected_total_minor=hold.total_minor)
            outcome = SaleOutcome(order.number, str(order.order_id), order.total_minor,
                                  order.currency, change)
        else:
            res = checkout(self.ctx, self.actor, key, hold.hold_id, method="cash",
                           tendered_minor=tendered_minor, customer_name=customer_name,
                           shift_id=self.shift.shift_id if self.shift else None)
            outcome = _outcome(res, change)
        return self._print(outcome)

    def pay_card(self, key: uuid.UUID, hold: HoldResult, card: str,
                 customer_name: str | None = None) -> SaleOutcome:
        mod = _optional("core.payments")
        checkout = getattr(mod, "checkout", None) if mod else None
        if checkout is None:
            raise BoxOfficeError("feature_missing", what="Card payment")
        res = checkout(self.ctx, self.actor, key, hold.hold_id, method="card",
                       payment_method=card, customer_name=customer_name,
                       shift_id=self.shift.shift_id if self.shift else None)
        return self._print(_outcome(res, 0))

    # --- printing --------------------------------------------------------------------
    def _print(self, outcome: SaleOutcome) -> SaleOutcome:
        spooler = self.extras.get("spooler")
        if spooler is None:
            return outcome
        try:
            spooler.print_order(uuid.UUID(outcome.order_id))
            state = str(getattr(spooler, "state", "ok"))
        except Exception as exc:  # the sale is committed; printing catches up later
            log.exception("print after sale failed")
            state = exc.message(_lang()) if isinstance(exc, BoxOfficeError) else "offline"
        return SaleOutcome(**{**_asdict(outcome), "print_state": state})

    def printer_state(self) -> str:
        spooler = self.extras.get("spooler")
        return str(getattr(spooler, "state", "none")) if spooler else "none"

    # --- orders ----------------------------------------------------------------------
    def find_orders(self, query: str) -> list[Any]:
        from core.monitor import find_orders

        q = query.strip()
        tickets = _optional("core.tickets")
        resolve = getattr(tickets, "find_order_id", None) if tickets else None
        if resolve is not None and q:
            try:
                oid = resolve(self.ctx.engine, q)
            except BoxOfficeError:
                oid = None
            if oid:
                q = str(oid)
        return find_orders(self.ctx.engine, q)

    def refund(self, key: uuid.UUID, order_id: str, approver: OperatorInfo,
               reason: str) -> dict[str, Any]:
        mod = _optional("core.payments") or _optional("core.sales")
        fn = getattr(mod, "refund", None) if mod else None
        if fn is None:
            raise BoxOfficeError("feature_missing", what="Refund")
        return _plain(fn(self.ctx, self.actor, key, uuid.UUID(order_id),
                         approved_by=approver.id, reason=reason))

    def exchange(self, key: uuid.UUID, order_id: str, approver: OperatorInfo,
                 reason: str) -> dict[str, Any]:
        mod = _optional("core.payments") or _optional("core.sales")
        fn = getattr(mod, "exchange", None) if mod else None
        if fn is None:
            return self.refund(key, order_id, approver, reason)
        return _plain(fn(self.ctx, self.actor, key, uuid.UUID(order_id),
                         approved_by=approver.id, reason=reason))

    def reprint(self, order_id: str, approver: OperatorInfo | None = None) -> str:
        spooler = self.extras.get("spooler")
        fn = getattr(spooler, "reprint_order", None) if spooler else None
        if fn is None:
            raise BoxOfficeError("feature_missing", what="Reprint")
        fn(uuid.UUID(order_id))
        return str(getattr(spooler, "state", "ok"))

    def approve(self, approval_id: str, approver: OperatorInfo) -> Any:
        mod = _optional("core.payments") or _optional("core.sales")
        fn = getattr(mod, "approve", None) if mod else None
        if fn is None:
            raise BoxOfficeError("feature_missing", what="Approvals")
        return fn(self.ctx, self.actor, approval_id, approver.id)

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


def _asdict(o: Any) -> dict[str, Any]:
    return {f: getattr(o, f) for f in o.__slots__}


def _plain(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if hasattr(v, "to_json"):
        return v.to_json()
    if hasattr(v, "__dataclass_fields__"):
        return {k: getattr(v, k) for k in v.__dataclass_fields__}
    return {"result": v}


def _shift_info(s: Any) -> ShiftInfo:
    if isinstance(s, ShiftInfo):
        return s
    get = s.get if isinstance(s, dict) else lambda k, d=None: getattr(s, k, d)
    sid = get("shift_id") or get("id")
    return ShiftInfo(uuid.UUID(str(sid)), int(get("opening_float_minor", 0) or 0),
                     str(get("currency", "BRL") or "BRL"))


def _outcome(res: Any, change: int) -> SaleOutcome:
    get = res.get if isinstance(res, dict) else lambda k, d=None: getattr(res, k, d)
    order = get("order")
    number = get("order_number") or get("number") or getattr(order, "number", 0)
    oid = get("order_id") or getattr(order, "order_id", "")
    total = get("total_minor") or getattr(order, "total_minor", 0)
    cur = get("currency") or getattr(order, "currency", "BRL")
    return SaleOutcome(int(number or 0), str(oid), int(total or 0), str(cur),
                       int(get("change_minor", change) or change), "ok",
                       get("card_brand") or get("brand"), get("card_last4") or get("last4"))

