"""The supervisor's console: pick an event and steer it while it sells.

Opened from the monitor with ``c``; a supervisor (or admin) signs in first and every
action is theirs (audit, price history, seat blocks). On the selected event: pause or
resume (``p``), a price by hand (``o``; above the event's threshold a second supervisor
approves here, or later with ``a``), its seat map to block, unblock and release seats
(``s``), a GA capacity (``g``). ``1`` ``2`` ``3`` show the events, the rooms and the staff
(read-only: rooms, events and staff are made with the ``boxoffice`` commands).

Every action is a ``MonitorSession`` call with the key its dialog made; the services tell
every terminal after commit, and this screen re-reads the event when the feed or its
poll says something changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.widgets import ContentSwitcher, DataTable, Static

from boxoffice_tui.base import BaseScreen
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from boxoffice_tui.screens import console_strings  # noqa: F401  (registers the labels)
from boxoffice_tui.screens.console_dialogs import (
    CapacityDialog,
    ConfirmDialog,
    ConsoleSignIn,
    PriceChange,
    PriceDialog,
)
from boxoffice_tui.screens.monitor import MonitorTable
from boxoffice_tui.widgets.seat_feed import SeatFeed
from core.errors import BoxOfficeError
from core.money import format_minor

if TYPE_CHECKING:
    from textual.app import App

    from core.actors import OperatorInfo
    from core.backoffice.events import EventRow
    from core.backoffice.prices import PriceRequestRow, PriceResult
    from terminal.monitor import ConsoleView, MonitorSession
    from terminal.results import Approval

REFRESH_S = 1.0  # the events list and the selected event, without a feed
LISTS = ("events", "rooms", "staff")
COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("c_code", "c_when", "c_status", "c_sold", "c_blocked"),
    "rooms": ("c_room", "c_name", "c_sections", "c_capacity", "c_on_sale"),
    "staff": ("c_login", "c_name", "c_role", "c_active", "c_last"),
}


def open_console(app: App[Any], session: MonitorSession) -> None:
    """The monitor's ``c``: the console, after a supervisor's sign-in if nobody is."""
    op = session.operator
    if op is not None and op.role in ("supervisor", "admin"):
        app.push_screen(ConsoleScreen())
        return

    def signed_in(got: OperatorInfo | None) -> None:
        if got is not None:
            app.push_screen(ConsoleScreen())

    app.push_screen(ConsoleSignIn(), signed_in)


class ConsoleScreen(SeatFeed, BaseScreen):
    CSS_PATH = str(Path(__file__).with_name("console.tcss"))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause_resume", "pause_resume"),
        Binding("o", "price", "price"),
        Binding("s", "seats", "seats"),
        Binding("g", "capacity", "ga_capacity"),
        Binding("a", "decide(True)", "approve_price"),
        Binding("x", "decide(False)", "reject_price", show=False),
        Binding("1", "show_list('events')", "list_events", show=False),
        Binding("2", "show_list('rooms')", "list_rooms", show=False),
        Binding("3", "show_list('staff')", "list_staff", show=False),
        Binding("ctrl+o", "sign_out", "sign_out"),
        Binding("escape", "back", "back"),
        # Help and the language switch work here too; their footer places go to the
        # console's keys (all of them show at 80 columns); F1 lists them all.
        Binding("f1", "app.help", "help", show=False),
        Binding("ctrl+l", "app.language", "language", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.events: list[EventRow] = []
        self.view: ConsoleView | None = None
        self.refreshes = 0
        self._watched: int | None = None
        self._rows: list[tuple[str, str, str, str, str, str]] = []

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with Horizontal(id="console-body"):
            with Vertical(id="console-left"):
                yield Static("", id="console-who")
                with ContentSwitcher(initial="events", id="console-lists"):
                    for name in LISTS:
                        # The monitor's table: redrawn whole once its columns are measured.
                        yield MonitorTable(id=name, cursor_type="row" if name == "events"
                                           else "none", zebra_stripes=True)
            yield Static(t("d_none"), id="console-detail")
        yield QuickFooter(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._add_columns()
        self._who()
        self.query_one("#events", DataTable).focus()
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)

    def on_resize(self) -> None:
        self._fit_detail()

    def _fit_detail(self) -> None:
        """The rooms and staff lists take the whole width of a narrow screen (their last
        columns would be cut beside the event's detail, which they do not concern)."""
        narrow_list = self.app.size.width < 100 and \
            self.query_one(ContentSwitcher).current != "events"
        self.query_one("#console-detail").display = not narrow_list

    def _add_columns(self) -> None:
        for name, keys in COLUMNS.items():
            table = self.query_one(f"#{name}", DataTable)
            table.clear(columns=True)
            table.add_columns(*(t(k) for k in keys))

    def _who(self) -> None:
        op = self.monitor.operator
        self.query_one("#console-who", Static).update(
            t("console_who", name=op.display_name, role=op.role) if op else "")

    def retranslate(self) -> None:
        super().retranslate()
        self._add_columns()
        self._who()
        self._fill_events(self.events, force=True)
        self.action_show_list(self.query_one(ContentSwitcher).current or "events")
        self._show_view()

    # --- reading ---------------------------------------------------------------------
    @property
    def selected(self) -> EventRow | None:
        table = self.query_one("#events", DataTable)
        if not table.row_count or not 0 <= table.cursor_row < len(self.events):
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((e for e in self.events if str(e.id) == key), None)

    def action_refresh(self) -> None:
        self.call_core(self.monitor.console_events, done=self._fill_events,
                       group="console-events", exclusive=True, quiet=True)

    def _fill_events(self, events: list[EventRow], force: bool = False) -> None:
        rows = [(str(e.id), e.code, self.bo.format_when(e.starts_at, e.timezone),
                 self._status(e.status), f"{e.sold}/{e.capacity}", str(e.blocked))
                for e in events]
        # Rebuilt only when something shown changed: the cursor and the view stay put.
        changed = force or rows != self._rows
        self.events, self._rows = events, rows
        self.refreshes += 1
        if changed:
            table = self.query_one("#events", DataTable)
            current = self.selected
            table.clear()
            for r in rows:
                table.add_row(*r[1:], key=r[0])
            if current is not None:
                idx = next((i for i, e in enumerate(events) if e.id == current.id), None)
                if idx is not None:
                    table.move_cursor(row=idx)
        self._load_view()

    def _status(self, status: str) -> str:
        return t(f"st_{status}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "events":
            self._load_view()

    def _load_view(self) -> None:
        ev = self.selected
        if ev is None:
            return
        self._watch(ev.id)
        self.call_core(self.monitor.console_view, ev.id, done=self._got_view,
                       group="console-view", exclusive=True, quiet=True)

    def _got_view(self, view: ConsoleView) -> None:
        ev = self.selected
        if ev is not None and view.detail.event.id == ev.id:
            self.view = view
            self._show_view()

    def _show_view(self) -> None:
        view = self.view
        panel = self.query_one("#console-detail", Static)
        if view is None:
            panel.update(t("d_none"))
            return
        ev = view.detail.event
        cur, lang = ev.currency, self.bo.lang

        def money(v: int) -> str:
            return format_minor(v, cur, lang)

        status = self._status(ev.status)
        if ev.status == "paused":
            status = f"[reverse b] {status} [/]"
        lines = [f"[b]{ev.code}[/b] {ev.name}", f"{ev.room} · "
                 f"{self.bo.format_when(ev.starts_at, ev.timezone)} · {status}",
                 f"{t('c_sold')} {ev.sold}/{ev.capacity} · {t('c_blocked')} {ev.blocked}",
                 t("d_dynamic", state=t("yes") if ev.dynamic_pricing else t("no")),
                 "", f"[b]{t('d_prices')}[/b]"]
        for tr in view.detail.tiers:  # floor and ceiling in whole units: 80 columns
            lines.append(f"{tr.section:<7}{money(tr.current_minor):>12}  "
                         f"{tr.floor_minor // 100}–{tr.ceiling_minor // 100}")
        if view.ga:
            lines += ["", f"[b]{t('d_ga')}[/b]"]
            for g in view.ga:
                taken = g.held + g.sold + g.leased
                lines.append(t("d_ga_line", code=g.section, cap=g.capacity, taken=taken,
                               left=g.capacity - taken))
        if view.requests:
            lines += ["", f"[b]{t('d_requests')}[/b]"]
            for r in view.requests:
                lines.append(t("d_request", section=r.section, old=money(r.old_minor),
                               new=money(r.new_minor), by=r.requested_by, reason=r.reason))
        panel.update("\n".join(lines))

    # --- live: the feed (Redis) tells of changes; the refresh re-reads anyway ---------
    def _watch(self, event_id: int) -> None:
        if self._watched == event_id:
            return
        self._watched = event_id
        self.subscribe_feed(self.monitor.subscribe, event_id)

    def feed_changed(self) -> None:
        self._load_view()

    def _stop_watch(self) -> None:
        self.unsubscribe_feed()
        self._watched = None

    def on_unmount(self) -> None:
        self._stop_watch()

    # --- lists -----------------------------------------------------------------------
    def action_show_list(self, name: str) -> None:
        self.query_one(ContentSwitcher).current = name
        self._fit_detail()
        table = self.query_one(f"#{name}", DataTable)
        table.focus()
        if name == "rooms":
            self.call_core(self.monitor.rooms, done=self._fill_rooms, group="console-list")
        elif name == "staff":
            self.call_core(self.monitor.staff, done=self._fill_staff, group="console-list")

    def _fill_rooms(self, rooms: list[Any]) -> None:
        table = self.query_one("#rooms", DataTable)
        table.clear()
        for r in rooms:
            table.add_row(r.code, r.name, str(r.sections), str(r.capacity),
                          str(r.events_on_sale))

    def _fill_staff(self, ops: list[Any]) -> None:
        table = self.query_one("#staff", DataTable)
        table.clear()
        for o in ops:
            # In UTC, as 'boxoffice operator list' shows it (staff belong to no venue).
            last = self.bo.format_when(o.last_sign_in_at, "UTC") if o.last_sign_in_at \
                else t("never")
            table.add_row(o.login, o.display_name, o.role, t("yes") if o.active else t("no"),
                          last)

    # --- acting ----------------------------------------------------------------------
    def _event(self) -> EventRow | None:
        if self.query_one(ContentSwitcher).current != "events":
            self.action_show_list("events")
            return None
        return self.selected

    def _acted(self, message: str) -> Callable[[Any], None]:
        def done(_: Any) -> None:
            self.app.notify(message)
            self.action_refresh()

        return done

    def action_pause_resume(self) -> None:
        ev = self._event()
        if ev is None or ev.status not in ("on_sale", "paused"):
            return
        action = "pause" if ev.status == "on_sale" else "resume"

        def confirmed(key: uuid.UUID | None) -> None:
            if key is not None:
                self.call_core(self.monitor.set_sales, key, ev.id, action,
                               done=self._acted(t(f"{action}d_done", event=ev.code)),
                               group="console-act")

        self.app.push_screen(ConfirmDialog(t(f"confirm_{action}", event=ev.code)), confirmed)

    def action_price(self) -> None:
        ev, view = self._event(), self.view
        if ev is None or view is None or view.detail.event.id != ev.id or \
                not view.detail.tiers:
            return

        def chosen(change: PriceChange | None) -> None:
            if change is not None:
                self.call_core(self.monitor.override_price, change.key, ev.id, change.section,
                               change.price_minor, change.reason,
                               done=lambda res: self._priced(ev, change.section, res),
                               group="console-act")

        self.app.push_screen(PriceDialog(ev.code, view.detail.tiers, ev.currency), chosen)

    def _money(self, minor: int) -> str:
        cur = self.view.detail.event.currency if self.view else \
            self.bo.services.settings.sales.currency
        return format_minor(minor, cur, self.bo.lang)

    def _priced(self, ev: EventRow, section: str, res: PriceResult) -> None:
        old, new = self._money(res.old_minor), self._money(res.new_minor)
        if res.status == "applied":
            self._acted(t("price_applied", section=section, old=old, new=new))(res)
            return
        self.action_refresh()
        if res.status != "pending" or res.request_id is None:
            return
        self.app.notify(t("price_pending", section=section, old=old, new=new))
        # The second supervisor may be standing here: their PIN approves it at once.
        self._second_supervisor(res.request_id, f"{section} {old} → {new}")

    def _second_supervisor(self, request_id: str, what: str,
                           requester: str | None = None) -> None:
        """The approving supervisor types login and PIN (the database records an
        approval only with a PIN just typed); ``requester`` is the login who asked, by
        default the signed-in supervisor."""
        from boxoffice_tui.screens.dialogs import SupervisorDialog

        key = uuid.uuid4()
        op = self.monitor.operator
        asker = requester if requester is not None else (op.login if op else None)

        def approved(res: Approval | None) -> None:
            if res and asker is not None and res.login.strip() == asker:
                # Core would refuse it too; asking again keeps the request in hand.
                self.bo.show_error(BoxOfficeError("self_approval"))
                self._second_supervisor(request_id, what, requester)
            elif res:
                self.call_core(self.monitor.decide_price, key, request_id, True, res,
                               done=self._decided, group="console-act")

        self.app.push_screen(SupervisorDialog(t("second_supervisor", what=what),
                                             with_reason=False), approved)

    def _decided(self, res: PriceResult) -> None:
        self._acted(t("approved") if res.status == "applied" else t("price_rejected"))(res)

    def action_decide(self, approve: bool) -> None:
        """The oldest price change waiting on the selected event: approve (``a``) or
        reject (``x``) as the signed-in supervisor; their own request asks for a second
        supervisor's PIN instead."""
        ev, view = self._event(), self.view
        if ev is None or view is None or view.detail.event.id != ev.id:
            return
        if not view.requests:
            self.app.notify(t("no_request"))
            return
        req: PriceRequestRow = view.requests[0]
        what = f"{req.section} {self._money(req.old_minor)} → {self._money(req.new_minor)}"
        if approve:
            # Approving needs a PIN typed now (dual control, checked by the database):
            # the signed-in supervisor's own, or a second one's for her own request.
            self._second_supervisor(str(req.id), what, req.requested_by)
            return

        def confirmed(key: uuid.UUID | None) -> None:
            if key is not None:
                self.call_core(self.monitor.decide_price, key, str(req.id), approve,
                               done=self._decided, group="console-act")

        verb = t("approve_price" if approve else "reject_price")
        self.app.push_screen(ConfirmDialog(f"{verb}: {what}?"), confirmed)

    def action_capacity(self) -> None:
        ev, view = self._event(), self.view
        if ev is None or view is None or view.detail.event.id != ev.id:
            return
        if not view.ga:
            self.app.notify(t("no_ga"))
            return

        def chosen(res: tuple[uuid.UUID, str, int] | None) -> None:
            if res is not None:
                key, section, cap = res
                self.call_core(self.monitor.set_ga_capacity, key, ev.id, section, cap,
                               done=self._acted(t("capacity_done", section=section, cap=cap)),
                               group="console-act")

        self.app.push_screen(CapacityDialog(ev.code, view.ga), chosen)

    def action_seats(self) -> None:
        from boxoffice_tui.screens.console_seats import ConsoleSeatsScreen

        ev = self._event()
        if ev is None:
            return
        self.app.push_screen(ConsoleSeatsScreen(ev), lambda _: self.action_refresh())

    def action_sign_out(self) -> None:
        self.monitor.supervisor_sign_out()
        self.app.notify(t("signed_out"))
        self.dismiss(None)

    def action_back(self) -> None:
        self.dismiss(None)
