"""Today's and upcoming events: date, room, availability bar, prices; type to filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.events import Key
from textual.widgets import DataTable, Input

from boxoffice_tui.base import BaseScreen, after_typed_keys
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from core.money import format_minor

BAR = 8

if TYPE_CHECKING:
    from core.reservation import EventInfo


def availability_bar(free: int, held: int, sold: int, width: int = BAR) -> Text:
    """free █, held ▒, sold ░: readable without colour."""
    total = max(1, free + held + sold)
    n_sold = round(sold * width / total)
    n_held = round(held * width / total)
    if held and not n_held:
        n_held = 1
    n_free = max(0, width - n_sold - n_held)
    bar = Text()
    bar.append("█" * n_free, "green")
    bar.append("▒" * n_held, "yellow")
    bar.append("░" * n_sold, "red")
    bar.append(f" {free}/{held}/{sold}")
    return bar


class EventsScreen(BaseScreen):
    BINDINGS = [
        Binding("enter", "open", "open_event", priority=True),
        Binding("f3", "app.orders", "orders"),
        Binding("f8", "app.x_report", "x_report"),
        Binding("f10,ctrl+f", "app.close_shift", "close_shift"),  # F10 opens a menu in some
        Binding("escape", "clear_filter", "back", show=False),
        Binding("down", "focus_table", "move", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.events: list[EventInfo] = []

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        yield Input(placeholder=t("filter"), id="event-filter")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        # Ctrl+P still opens the palette (F1 lists it): its footer place goes to the keys,
        # compact so the six key caps (Enter, Ctrl+L) fit 80 columns in Portuguese too.
        yield QuickFooter(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._columns()
        self.query_one("#event-filter", Input).focus()
        self.reload()
        self.set_interval(5.0, self.reload)

    WIDE = (("col_when", 12), ("col_event", 20), ("col_room", 17), ("col_avail", 19),
            ("col_price", 21))
    # At 80 columns the room goes (the sale screen's title names it): the event's name
    # and its lowest price are what a cashier reads, and they must not be cut.
    NARROW = (("col_when", 12), ("col_event", 22), ("col_avail", 18), ("col_price", 13))

    def _widths(self) -> tuple[tuple[str, int], ...]:
        return self.WIDE if self.size.width >= 100 else self.NARROW

    def _columns(self) -> None:
        table = self.query_one("#events", DataTable)
        table.clear(columns=True)
        # Fixed widths (no jumping while the list is filtered or refreshed), narrower at
        # 80 columns so every column stays on screen.
        self._shown_widths = self._widths()
        for key, width in self._shown_widths:
            table.add_column(t(key), key=key, width=width)

    def on_resize(self) -> None:
        if getattr(self, "_shown_widths", None) not in (None, self._widths()):
            self._columns()
            self._fill()

    def retranslate(self) -> None:
        super().retranslate()
        self.query_one("#event-filter", Input).placeholder = t("filter")
        self._columns()
        self._fill()

    def on_screen_resume(self) -> None:
        # Back from a seat map: typing goes to the filter again (focus left on the
        # table dropped the letters, and Enter reopened the last event).
        # The last filter stays, selected: the first letter typed starts a new one.
        inp = self.query_one("#event-filter", Input)
        inp.focus()
        inp.select_all()
        if self.events:
            self.reload()  # back from a sale: the bars have moved

    def on_key(self, event: Key) -> None:
        """A letter typed while the list has focus goes to the filter, which takes the
        focus: a cashier types the show's name wherever the cursor is."""
        inp = self.query_one("#event-filter", Input)
        char = event.character
        if self.focused is not inp and event.is_printable and char and char.strip():
            event.stop()
            event.prevent_default()
            inp.focus()
            start, end = sorted(inp.selection)
            inp.replace(char, start, end)

    def reload(self) -> None:
        if self.events and not self.is_current:
            return  # under the seat map: no need to load the event list every 5 s
        self.call_core(self.bo.services.events, done=self._loaded, group="events",
                       exclusive=True, quiet=True)

    def _loaded(self, events: list[EventInfo]) -> None:
        self.events = events
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#events", DataTable)
        flt = self.query_one("#event-filter", Input).value.strip().lower()
        current = None
        if table.row_count and table.cursor_row < table.row_count:
            current = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        table.clear()
        for e in self.events:
            hay = f"{e.code} {e.name} {e.venue}".lower()
            if flt and flt not in hay:
                continue
            when = self.bo.format_when(e.starts_at, e.timezone)
            lo, hi = e.min_price_minor, e.max_price_minor
            price = "" if lo is None else format_minor(lo, e.currency, self.bo.lang)
            if hi is not None and hi != lo:
                price += ("+" if self._shown_widths is self.NARROW else
                          " – " + format_minor(hi, e.currency, self.bo.lang))
            name = e.name + (" ⏸" if e.status == "paused" else "")
            cells: dict[str, object] = {
                "col_when": when, "col_event": name, "col_room": e.venue,
                "col_avail": availability_bar(e.available, e.held, e.sold), "col_price": price}
            table.add_row(*(cells[key] for key, _ in self._shown_widths), key=str(e.id))
        if current is not None:
            idx = table.get_row_index(current) if current in table.rows else 0
            table.move_cursor(row=idx)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill()

    def action_clear_filter(self) -> None:
        self.query_one("#event-filter", Input).value = ""

    def action_focus_table(self) -> None:
        self.query_one("#events", DataTable).focus()

    def selected(self) -> EventInfo | None:
        table = self.query_one("#events", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((e for e in self.events if str(e.id) == key), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @after_typed_keys
    def action_open(self) -> None:
        ev = self.selected()
        if ev is not None:
            self.cashier.open_event(ev)
