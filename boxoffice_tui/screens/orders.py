"""Find an order by ticket serial, scanned QR, order number or name; reprint, refund or
exchange it with a supervisor's approval on this terminal."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from boxoffice_tui.base import BaseScreen
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from boxoffice_tui.screens.dialogs import SupervisorDialog
from core.errors import BoxOfficeError
from core.money import format_minor
from terminal.results import Approval, ExchangeRequest

if TYPE_CHECKING:
    from core.sales import RefundResult


class OrdersScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("f7", "reprint", "reprint"),
        Binding("f9", "refund", "refund"),
        Binding("f11,ctrl+t", "exchange", "exchange"),  # F11 is fullscreen in some terminals
        Binding("down", "focus_table", "move", show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.orders: list[Any] = []
        self.last_refund: RefundResult | None = None

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        yield Input(self.initial, placeholder=t("search_orders"), id="order-query")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield Static("", id="order-detail")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#orders", DataTable)
        for key in ("col_serial", "col_event", "col_customer", "col_status", "col_total"):
            table.add_column(t(key), key=key)
        table.add_column("", key="seats")
        self.query_one("#order-query", Input).focus()
        if self.initial:
            self.search()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.search()

    def search(self) -> None:
        q = self.query_one("#order-query", Input).value
        if q.strip():
            self.call_core(self.counter.find_orders, q, done=self._found, group="orders",
                           exclusive=True)

    def _found(self, orders: list[Any]) -> None:
        self.orders = orders
        table = self.query_one("#orders", DataTable)
        table.clear()
        for o in orders:
            table.add_row(str(o.number), o.event_code, o.customer_name or "", o.status,
                          format_minor(o.total_minor, o.currency, self.bo.lang), o.seats,
                          key=o.order_id)
        if orders:
            table.focus()

    def action_focus_table(self) -> None:
        self.query_one("#orders", DataTable).focus()

    def action_back(self) -> None:
        self.dismiss()

    def selected(self) -> Any | None:
        table = self.query_one("#orders", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((o for o in self.orders if o.order_id == key), None)

    def action_reprint(self) -> None:
        """The first duplicate is the cashier's call; core asks for a supervisor from the
        second on (then this asks for the PIN and tries again)."""
        order = self.selected()
        if order is None:
            return
        svc = self.counter

        def failed(exc: BaseException) -> None:
            if isinstance(exc, BoxOfficeError) and exc.code == "supervisor_required":
                self.app.push_screen(SupervisorDialog(f"{t('reprint')} #{order.number}",
                                                     with_reason=False), approved)
            else:
                self.bo.show_error(exc)

        def approved(res: Approval | None) -> None:
            if res:
                self.call_core(svc.reprint, order.order_id, res,
                               done=lambda _: self.app.notify(t("reprinted")), group="reprint")

        self.call_core(svc.reprint, order.order_id, None, failed=failed,
                       done=lambda _: self.app.notify(t("reprinted")), group="reprint")

    def action_refund(self) -> None:
        self._approved_action("refund")

    def action_exchange(self) -> None:
        self._approved_action("exchange")

    def _approved_action(self, kind: str) -> None:
        """Ask core whether a supervisor must approve (another shift, amount over the
        limit); the dialog asks for the reason and, only then, the supervisor's PIN."""
        order = self.selected()
        if order is None:
            return
        svc = self.counter

        def ask(why: str | None) -> None:
            title = f"{t(kind)} #{order.number}" + (f" ({why})" if why else "")
            def answered(res: Approval | None) -> None:
                if res:
                    self._go(kind, order, res)

            self.app.push_screen(SupervisorDialog(title, need_pin=why is not None), answered)

        self.call_core(svc.refund_needs_approval, order.order_id, done=ask, group="refund")

    def _go(self, kind: str, order: Any, approval: Approval) -> None:
        svc = self.counter
        if kind == "exchange":
            ev = next((e for e in self.cashier.cached_events if e.code == order.event_code), None)
            if ev is None:
                self.app.notify(t("not_available", what=order.event_code), severity="error")
                return
            from boxoffice_tui.screens.sale import SaleScreen

            req = ExchangeRequest(order.order_id, order.number, approval.reason,
                                  approval.login, approval.pin)
            self.app.notify(t("exchange_hint"))
            self.app.push_screen(SaleScreen(ev, exchange=req))
            return

        def finished(result: RefundResult) -> None:
            amount = result.amount_minor
            self.last_refund = result
            self.app.notify(t("refunded", number=order.number,
                             amount=format_minor(amount, order.currency, self.bo.lang)))
            self.search()

        self.call_core(svc.refund, uuid.uuid4(), order.order_id, approval, done=finished,
                       group="refund", exclusive=True)
