"""Find an order by ticket serial, scanned QR, order number or name; reprint, refund or
exchange it with a supervisor's approval on this terminal."""

from __future__ import annotations

import uuid
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from boxoffice_tui.base import BaseScreen
from boxoffice_tui.i18n import t
from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.widgets.status import TerminalHeader
from core.money import format_minor


class OrdersScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("f7", "reprint", "reprint"),
        Binding("f9", "refund", "refund"),
        Binding("f11", "exchange", "exchange"),
        Binding("down", "focus_table", "move", show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.orders: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        yield Input(self.initial, placeholder=t("search_orders"), id="order-query")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield Static("", id="order-detail")
        yield Footer()

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
            self.call_core(self.bo.services.find_orders, q, done=self._found, group="orders",
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
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return next((o for o in self.orders if o.order_id == key), None)

    def action_reprint(self) -> None:
        order = self.selected()
        if order is None:
            return

        def approved(res: Any) -> None:
            if res:
                self.call_core(self.bo.services.reprint, order.order_id, res[0],
                               done=lambda _: self.bo.notify(t("reprinted")), group="reprint")

        self.bo.push_screen(SupervisorDialog(f"{t('reprint')} #{order.number}"), approved)

    def action_refund(self) -> None:
        self._approved_action("refund")

    def action_exchange(self) -> None:
        self._approved_action("exchange")

    def _approved_action(self, kind: str) -> None:
        order = self.selected()
        if order is None:
            return
        key = uuid.uuid4()
        svc = self.bo.services
        fn = svc.refund if kind == "refund" else svc.exchange

        def finished(result: dict[str, Any]) -> None:
            amount = result.get("amount_minor", result.get("refunded_minor", order.total_minor))
            self.bo.notify(t("refunded", number=order.number,
                             amount=format_minor(int(amount), order.currency, self.bo.lang)))
            if kind == "exchange":
                self.bo.notify(t("exchange_hint"))
            self.search()

        def approved(res: Any) -> None:
            if res:
                op, reason = res
                self.call_core(fn, key, order.order_id, op, reason, done=finished,
                               group="refund", exclusive=True)

        self.bo.push_screen(SupervisorDialog(f"{t(kind)} #{order.number}"), approved)
