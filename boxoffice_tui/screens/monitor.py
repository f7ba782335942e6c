"""The supervisor's monitor: live sales, revenue, occupancy, terminals, holds,
approvals and alerts. Read-only except approvals. Widgets are updated in place every
couple of seconds from a worker, so nothing is rebuilt and nothing flickers."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Label, Sparkline, Static

from boxoffice_tui import web_session
from boxoffice_tui.base import BaseScreen
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from boxoffice_tui.screens import console_strings  # noqa: F401  (the footer's c Console)
from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.screens.monitor_text import (
    alert_text,
    amount,
    approval_kind,
    approval_title,
    card_text,
    currency_symbol,
    money,
    mt,
    printer_text,
    tender_text,
)
from terminal.results import Approval

REFRESH_S = 2.0

# Table id -> i18n keys of its column headers ("" and "%" need no translation).
COLUMNS: dict[str, tuple[str, ...]] = {
    "occupancy": ("", "%", "mon_sold_cap"),
    "terminals": ("", "mon_kind", "mon_op", "mon_beat", "mon_state", "mon_sync_prt",
                  "mon_printer", "mon_card"),
    "holds": ("mon_terminal", "mon_event", "mon_qty", "mon_left"),
    "approvals": ("mon_kind", "mon_by", "mon_amount"),
}
# The grid: sales and revenue | occupancy; alerts | approvals (on a narrow screen each
# across the whole width, so the approvals' columns stay whole); terminals; holds. On a
# short terminal (80x24) sales, revenue, occupancy, alerts and approvals stay on screen
# and the rest scrolls; on a tall one (120x40, a tablet) everything fits.
NARROW_BELOW = 100
TALL_MIN = 38
# Panel title label id -> i18n key.
TITLES = {"l-sales": "sales_per_min", "l-revenue": "revenue", "l-occ": "occupancy",
          "l-term": "terminals", "l-holds": "open_holds", "l-appr": "approvals",
          "l-alerts": "alerts"}


def _sync(table: DataTable, rows: list[tuple[Any, ...]], keys: list[str] | None = None) -> None:
    """Replace a table's rows only when they changed, keeping the highlighted row: the
    monitor refreshes every two seconds and must neither flicker nor lose the cursor."""
    plain = [tuple(str(c) for c in r) for r in rows]
    if getattr(table, "_bo_rows", None) == (plain, keys):
        return
    current = None
    if keys and table.row_count and table.cursor_row < table.row_count:
        current = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
    table.clear()
    for i, r in enumerate(rows):
        table.add_row(*r, key=keys[i] if keys else None)
    if current is not None and keys and current in keys:
        table.move_cursor(row=keys.index(current))
    table._bo_rows = (plain, keys)  # type: ignore[attr-defined]


class MonitorTable(DataTable):
    """A DataTable that redraws all its lines once it has measured its columns.

    Textual 8.2 measures columns when the table is idle after rows arrive, but keeps the
    lines it drew before that (header and first row at the old widths) unless something
    else repaints the whole screen."""

    def watch_virtual_size(self) -> None:
        self.notify_style_update()  # drops the table's cached lines
        self.refresh()


def _rows_for(width: int, height: int) -> tuple[int, ...]:
    """Grid row heights for a body ``width`` x ``height`` (header and footer excluded)."""
    tall = height >= TALL_MIN
    if width < NARROW_BELOW:
        alerts, approvals = (7, 6) if tall else (6, 5)
        top = 11 + alerts + approvals
        return 11, alerts, approvals, max(8, height - top - 7), 7
    mid = 9 if tall else 7
    return 11, mid, max(8, height - 11 - mid - 8), 8


def _age(s: float | None) -> str:
    if s is None:
        return "—"
    s = int(s)
    return f"{s}s" if s < 120 else f"{s // 60}m"


class MonitorScreen(BaseScreen):
    BINDINGS = [
        Binding("r", "refresh", "refresh"),
        Binding("a", "approve", "approve"),
        # The supervisor's console (sign-in first): docs/monitor.md.
        Binding("c", "console", "console"),
        # Priority: Textual's own (hidden) ctrl+q would take its footer place.
        Binding("ctrl+q", "app.quit", "quit", priority=True),
        # The charts (sales per minute, occupancy, price path): docs/monitor.md.
        Binding("g", "charts", "charts", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Any = None
        self.refreshes = 0

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with VerticalScroll(id="monitor-scroll"), Grid(id="monitor-grid"):
            with Vertical(classes="panel", id="p-sales"):
                yield Label(t("sales_per_min"), classes="title", id="l-sales")
                yield Sparkline([0], id="spark")
                yield Static("", id="sales-now")
                yield Label(t("revenue"), classes="title", id="l-revenue")
                yield Static("", id="revenue")
            with Vertical(classes="panel", id="p-occ"):
                yield Label(t("occupancy"), classes="title", id="l-occ")
                yield MonitorTable(id="occupancy", cursor_type="none")
            with Vertical(classes="panel", id="p-alerts"):
                yield Label(t("alerts"), classes="title", id="l-alerts")
                yield Static(t("no_alerts"), id="alerts")
            with Vertical(classes="panel", id="p-appr"):
                yield Label(t("approvals"), classes="title", id="l-appr")
                yield MonitorTable(id="approvals", cursor_type="row")
            with Vertical(classes="panel", id="p-term"):
                yield Label(t("terminals"), classes="title", id="l-term")
                yield MonitorTable(id="terminals", cursor_type="none")
            with Vertical(classes="panel", id="p-holds"):
                yield Label(t("open_holds"), classes="title", id="l-holds")
                yield MonitorTable(id="holds", cursor_type="none")
        yield QuickFooter()

    def on_resize(self, event: events.Resize) -> None:
        rows = _rows_for(event.size.width, event.size.height - 2)
        grid = self.query_one("#monitor-grid", Grid)
        grid.set_class(event.size.width < NARROW_BELOW, "-narrow")
        grid.styles.grid_rows = " ".join(str(r) for r in rows)
        grid.styles.height = sum(rows)

    def on_mount(self) -> None:
        super().on_mount()
        self._add_columns()
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)

    def _add_columns(self) -> None:
        for table_id, keys in COLUMNS.items():
            self.query_one(f"#{table_id}", DataTable).add_columns(
                *(t(k) if k.startswith("mon_") else k for k in keys))

    def retranslate(self) -> None:
        """ctrl+l: titles, column headers and the figures' words in the new language,
        at once (not at the next refresh)."""
        super().retranslate()
        for label_id, key in TITLES.items():
            self.query_one(f"#{label_id}", Label).update(t(key))
        # Headers set their column widths: rebuild the columns; the rows follow from the
        # last snapshot (the cursor row is kept by key).
        approvals = self.query_one("#approvals", DataTable)
        cursor = approvals.cursor_row
        for table_id in COLUMNS:
            table = self.query_one(f"#{table_id}", DataTable)
            table.clear(columns=True)
            table._bo_rows = None  # type: ignore[attr-defined]
        self._add_columns()
        if self.snapshot is not None:
            self.show(self.snapshot, count=False)
            if 0 <= cursor < approvals.row_count:
                approvals.move_cursor(row=cursor)
        else:
            self.query_one("#alerts", Static).update(t("no_alerts"))

    def action_refresh(self) -> None:
        self.call_core(self.monitor.monitor_snapshot, done=self.show, group="monitor",
                       exclusive=True, quiet=True)

    def show(self, snap: Any, count: bool = True) -> None:
        self.snapshot = snap
        self.refreshes += count
        cur = snap.currency
        self.query_one("#spark", Sparkline).data = snap.sales_per_minute or [0]
        last = snap.sales_per_minute[-1] if snap.sales_per_minute else 0
        total_hour = sum(snap.sales_per_minute)
        self.query_one("#sales-now", Static).update(t("mon_rate", last=last, hour=total_hour))
        self.query_one("#revenue", Static).update(revenue_text(snap))

        _sync(self.query_one("#occupancy", DataTable),
              [(o.code, f"{o.percent:5.1f}", f"{o.sold}/{o.capacity}") for o in snap.occupancy])

        term_rows = []
        # A served monitor's browser tabs are rows of their own (boxoffice_tui.web_session).
        stale_s = max(15.0, self.monitor.settings.terminal.heartbeat_s * 3)
        for tr in web_session.expand(snap.terminals, snap.as_of, stale_s):
            st = tr.state
            style = "bold red" if tr.stale else ""
            sync = st.get("sync") or {}
            up = st.get("online", True) and sync.get("online", True)
            online = mt("state_stopped") if tr.stopped else t("mon_stale") if tr.stale \
                else t("mon_on") if up else t("mon_off")
            # queue: commands waiting in the offline journal / print jobs waiting
            queue = f"{sync.get('queue_depth', 0)}/{st.get('queue_depth', 0)}"
            term_rows.append((Text(tr.name, style), tr.kind, str(st.get("operator") or "—"),
                              Text(_age(tr.age_s), style), Text(online, style), queue,
                              printer_text(st.get("printer")),
                              "—" if tr.stopped else card_text(st.get("breaker"))))
        _sync(self.query_one("#terminals", DataTable), term_rows)

        hold_rows = []
        for h in snap.open_holds:
            mm, ss = divmod(h.expires_in_s, 60)
            hold_rows.append((h.terminal, h.event_code, str(h.quantity), f"{mm:02d}:{ss:02d}"))
        _sync(self.query_one("#holds", DataTable), hold_rows)

        _sync(self.query_one("#approvals", DataTable),
              [(approval_kind(a), f"{a.login}@{a.terminal}",
                money(a.amount_minor, cur) if a.amount_minor else "")
               for a in snap.approvals], [a.id for a in snap.approvals])

        alerts = snap.alerts
        self.query_one("#alerts", Static).update(
            "\n".join(f"⚠ {alert_text(a, cur)}" for a in alerts) if alerts
            else t("no_alerts"))

    def action_approve(self) -> None:
        table = self.query_one("#approvals", DataTable)
        if not table.row_count or self.snapshot is None:
            return
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        appr = next((a for a in self.snapshot.approvals if a.id == key), None)
        if appr is None:
            return

        def done(_: object) -> None:
            self.app.notify(t("approved"))
            self.action_refresh()

        def approved(res: Approval | None) -> None:
            if res:
                self.call_core(self.monitor.approve, appr.id, res, done=done, group="approve")

        self.app.push_screen(SupervisorDialog(approval_title(appr, self.snapshot.currency),
                                              with_reason=False),
                            approved)

    def action_console(self) -> None:
        from boxoffice_tui.screens.console import open_console

        open_console(self.app, self.monitor)

    def action_charts(self) -> None:
        from boxoffice_tui.screens.monitor_charts import ChartsScreen

        self.app.push_screen(ChartsScreen())


def revenue_text(snap: Any) -> str:
    """Today's takings by tender: gross, refunds and net, the currency named once, so
    the table fits the sales panel (37 columns) at 80x24 with room for R$ 999.999,99."""
    gross, refunds, net = snap.revenue_by_tender, snap.refunds_by_tender, \
        snap.net_by_tender()
    if not net:
        return "—"

    def line(label: str, g: str, r: str, n: str) -> str:
        return f"{label[:7]:<8}{g:>10}{r:>9}{n:>10}"

    head = line(currency_symbol(snap.currency), mt("rev_gross"), mt("rev_refunds"),
                mt("rev_net"))
    lines = [f"[dim]{head}[/dim]"]
    lines += [line(tender_text(k), amount(gross.get(k, 0)), amount(refunds.get(k, 0)),
                   amount(net[k])) for k in net]
    total = line(t("mon_total"), amount(sum(gross.values())), amount(sum(refunds.values())),
                 amount(sum(net.values())))
    lines.append(f"[b]{total}[/b]")
    return "\n".join(lines)
