"""Find an order by ticket serial, scanned QR, order number or name; reprint, refund (the
whole order or the tickets chosen with Space) or exchange it, with a supervisor's approval
on this terminal when core asks for one."""

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
from boxoffice_tui.i18n import status_text, t
from boxoffice_tui.screens.dialogs import SupervisorDialog
from core.errors import BoxOfficeError
from core.money import format_minor
from terminal.results import Approval, ExchangeRequest

if TYPE_CHECKING:
    from core.sales import OrderLineView, RefundResult


class OrdersScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("f7", "reprint", "reprint"),
        Binding("f9", "refund", "refund"),
        Binding("f11,ctrl+t", "exchange", "exchange"),  # F11 is fullscreen in some terminals
        Binding("space", "pick_ticket", "pick_ticket"),
        Binding("down", "focus_table", "move", show=False),
        # Working but not in the footer, whose 80 columns go to the order keys (F1 lists
        # them all).
        Binding("f1", "app.help", "help", show=False),
        Binding("ctrl+l", "app.language", "language", show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.orders: list[Any] = []
        self.last_refund: RefundResult | None = None
        # The highlighted order's tickets, and those chosen (Space) to refund alone.
        self.lines_of: str | None = None
        self.lines: list[OrderLineView] = []
        self.chosen: set[int] = set()

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        yield Input(self.initial, placeholder=t("search_orders"), id="order-query")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="order-lines", cursor_type="row")
        yield Static("", id="order-detail")
        yield QuickFooter(show_command_palette=False)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#orders", DataTable)
        for key in ("col_serial", "col_event", "col_customer", "col_status", "col_total"):
            table.add_column(t(key), key=key)
        table.add_column("", key="seats")
        lines = self.query_one("#order-lines", DataTable)
        lines.add_column(" ", key="mark")
        lines.add_column(t("col_ticket"), key="ticket")
        lines.add_column(t("col_status"), key="status")
        lines.add_column(t("col_price"), key="price")
        lines.display = False
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
            table.add_row(str(o.number), o.event_code, o.customer_name or "",
                          status_text(o.status),
                          format_minor(o.total_minor, o.currency, self.bo.lang), o.seats,
                          key=o.order_id)
        if orders:
            table.focus()
            self._load_lines()
        else:
            self._show_lines(None, [])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "orders":
            self._load_lines()

    def _load_lines(self) -> None:
        order = self.selected()
        if order is None or order.order_id == self.lines_of:
            return
        oid = order.order_id
        self.call_core(self.counter.order_lines, oid,
                       done=lambda lines: self._show_lines(oid, lines),
                       group="order-lines", exclusive=True)

    def _show_lines(self, order_id: str | None, lines: list[OrderLineView]) -> None:
        if order_id != self.lines_of:
            self.chosen = set()
        self.lines_of, self.lines = order_id, lines
        table = self.query_one("#order-lines", DataTable)
        row = table.cursor_row
        table.clear()
        order = self.selected()
        cur = order.currency if order is not None else ""
        for ln in lines:
            table.add_row("✔" if ln.line_id in self.chosen else " ", ln.label,
                          status_text(ln.status),
                          format_minor(ln.unit_price_minor * ln.qty, cur, self.bo.lang),
                          key=str(ln.line_id))
        table.display = bool(lines)
        if lines:
            table.move_cursor(row=min(row, len(lines) - 1))
        self._show_choice()

    def _show_choice(self) -> None:
        order = self.selected()
        detail = self.query_one("#order-detail", Static)
        if order is None or not self.lines:
            detail.update("")
            return
        if self.chosen:
            amount = sum(ln.unit_price_minor * ln.qty for ln in self.lines
                         if ln.line_id in self.chosen)
            detail.update(t("tickets_chosen", n=len(self.chosen),
                            amount=format_minor(amount, order.currency, self.bo.lang)))
        else:
            detail.update(t("tickets_hint"))

    def action_pick_ticket(self) -> None:
        """Space: choose (or un-choose) the ticket under the cursor for F9; from the orders
        list, Space first moves into its tickets."""
        table = self.query_one("#order-lines", DataTable)
        if not self.lines:
            return
        if not table.has_focus:
            table.focus()
            return
        ln = self.lines[table.cursor_row]
        if ln.status != "sold":
            self.app.bell()
            return
        self.chosen ^= {ln.line_id}
        table.update_cell_at(Coordinate(table.cursor_row, 0),
                             "✔" if ln.line_id in self.chosen else " ")
        self._show_choice()

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
        # Only a refund takes single tickets; an exchange swaps the whole order.
        line_ids = sorted(self.chosen) if kind == "refund" and self.chosen and \
            self.lines_of == order.order_id else None

        def ask(why: str | None) -> None:
            title = f"{t(kind)} #{order.number}"
            if line_ids is not None:
                title += " · " + t("n_tickets", n=len(line_ids))
            if why:
                key = "why_" + why.replace(" ", "_")
                # A used ticket's reason is core's sentence saying when and at which gate
                # it was used (issue 13 item 13): shown as it is.
                title += f" ({t(key) if t(key) != key else why})"

            def answered(res: Approval | None) -> None:
                if res:
                    self._go(kind, order, res, line_ids)

            self.app.push_screen(SupervisorDialog(title, need_pin=why is not None), answered)

        self.call_core(svc.refund_needs_approval, order.order_id, line_ids, done=ask,
                       group="refund")

    def _go(self, kind: str, order: Any, approval: Approval,
            line_ids: list[int] | None = None) -> None:
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
            self.lines_of = None  # reread: the refunded tickets changed status
            self.cashier.order_refunded(order.order_id,
                                        format_minor(amount, order.currency, self.bo.lang))
            self.chosen = set()
            self.search()

        self.call_core(svc.refund, uuid.uuid4(), order.order_id, approval, line_ids,
                       done=finished, group="refund", exclusive=True)
