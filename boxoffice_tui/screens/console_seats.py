"""The console's seat map of one event: the counter's seat-map widget, where a supervisor
picks many seats (Space, ``r`` for the cursor's whole row; free and blocked ones) and
blocks them with a kind and reason (``b``), puts picked blocked seats back on sale
(``u``), or releases every blocked seat of a kind (``l``). Changes from every terminal
arrive through the feed (Redis) or the poll (half a second)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from boxoffice_tui.base import BaseScreen
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from boxoffice_tui.screens import console_strings  # noqa: F401  (registers the labels)
from boxoffice_tui.screens.console_dialogs import BlockDialog
from boxoffice_tui.widgets.legend import Entry, Legend
from boxoffice_tui.widgets.seat_feed import SeatFeed
from boxoffice_tui.widgets.seatmap import SYMBOLS, SeatMap, SeatRef, stage_label

if TYPE_CHECKING:
    import uuid

    from core.backoffice.events import EventRow
    from core.backoffice.inventory import SeatsResult
    from core.reservation import Availability
    from terminal.results import SeatMapData

POLL_S = 0.5
LEGEND = ("available", "accessible", "picked", "held", "sold", "blocked")


class ConsoleSeatsScreen(SeatFeed, BaseScreen):
    CSS_PATH = str(Path(__file__).with_name("console.tcss"))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "block", "block"),
        Binding("u", "unblock", "unblock"),
        Binding("r", "pick_row", "pick_row"),
        Binding("l", "release_all", "release_all"),
        Binding("delete,c", "clear", "clear_picks"),
        Binding("escape", "back", "back"),
        Binding("f1", "app.help", "help", show=False),
        Binding("ctrl+l", "app.language", "language", show=False),
    ]

    def __init__(self, event: EventRow) -> None:
        super().__init__()
        self.event = event
        self.data: SeatMapData | None = None
        self.avail: Availability | None = None  # the last one read
        self.polls = 0
        self.pushed = 0

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with Vertical(id="console-map-pane"):
            yield Static(f"[b]{self.event.code}[/b] {self.event.name}", id="console-map-title")
            yield SeatMap(id="console-seatmap")
            yield Static("", id="console-seat-info")
            yield Legend(self._legend(), id="console-legend")
        yield QuickFooter(show_command_palette=False, compact=True)

    def _legend(self) -> list[Entry]:
        return [(SYMBOLS[kind][0], SYMBOLS[kind][1], t("lg_" + kind)) for kind in LEGEND]

    @property
    def smap(self) -> SeatMap:
        return self.query_one(SeatMap)

    def on_mount(self) -> None:
        super().on_mount()
        smap = self.smap
        smap.pick_states = frozenset("AB")  # free seats to block, blocked ones to release
        smap.focus()
        self.call_core(self.monitor.seat_map, self.event.id, done=self._loaded, group="load")
        self.set_interval(POLL_S, self.poll)

    def retranslate(self) -> None:
        super().retranslate()
        self.query_one("#console-legend", Legend).set_entries(self._legend())
        self._info()

    def _loaded(self, data: SeatMapData) -> None:
        self.data = data
        if not data.layout:
            self.smap.display = False
            self.query_one("#console-seat-info", Static).update(t("no_seat_map"))
            return
        self.avail = data.availability
        self.smap.load(data.layout, data.availability, stage_label(data.stage))
        self._info()
        self.subscribe_feed(self.monitor.subscribe, self.event.id)

    def poll(self) -> None:
        if self.data is None or not self.data.layout or self.app.screen is not self:
            return
        self.call_core(self.monitor.availability, self.event.id, done=self.apply,
                       group="poll", exclusive=True, quiet=True)

    def apply(self, avail: Availability) -> None:
        self.polls += 1
        self.avail = avail
        if self.smap.apply(avail):
            self._info()

    def _info(self, seat: SeatRef | None = None) -> None:
        smap = self.smap
        if not smap.seat_count:
            return
        states = [smap.state_of(s) for s in smap._seat_ids]
        line = t("seats_line", picked=len(smap.picked), blocked=states.count("blocked"),
                 sold=states.count("sold"), held=states.count("held"))
        if smap.cursor is not None:
            ref = seat or smap.seat_ref(smap._seat_ids[smap.cursor])
            line = f"{ref.label} ({t('lg_' + smap.state_of(ref.seat_id))}) · {line}"
        self.query_one("#console-seat-info", Static).update(line)

    def on_seat_map_selection_changed(self, event: SeatMap.SelectionChanged) -> None:
        self._info()

    def on_seat_map_cursor_moved(self, event: SeatMap.CursorMoved) -> None:
        self._info(event.seat)

    # --- actions -----------------------------------------------------------------------
    def _picked(self, state: str | None = None) -> list[int]:
        """The picked seats, or those of them in ``state`` (an availability letter) as
        last read: the widget draws picked seats as picked, whatever they are."""
        avail = self.avail
        return [s for s in self.smap.picked
                if state is None or (avail is not None and avail.state_of(s) == state)]

    def _done(self, key: str) -> Callable[[SeatsResult], None]:
        def done(res: SeatsResult) -> None:
            msg = t(key, n=len(res.changed))
            if res.skipped:
                msg += " " + t("left_alone", what=", ".join(
                    f"{k} {len(v)}" for k, v in sorted(res.skipped.items())))
            self.app.notify(msg)
            self.smap.clear_picked()
            self.poll()
            self._info()

        return done

    def action_pick_row(self) -> None:
        self.smap.pick_row()

    def action_clear(self) -> None:
        self.smap.clear_picked()
        self._info()

    def action_block(self) -> None:
        seats = self._picked()
        if not seats:
            self.app.notify(t("nothing_picked"))
            return

        def chosen(res: tuple[uuid.UUID, str, str] | None) -> None:
            if res is not None:
                key, kind, reason = res
                self.call_core(self.monitor.block_seats, key, self.event.id, seats, kind,
                               reason, done=self._done("blocked_done"), group="act")

        self.app.push_screen(BlockDialog(t("block_title", n=len(seats))), chosen)

    def action_unblock(self) -> None:
        seats = self._picked("B")
        if not seats:
            self.app.notify(t("nothing_picked"))
            return
        import uuid

        self.call_core(self.monitor.unblock_seats, uuid.uuid4(), self.event.id, seats,
                       done=self._done("unblocked_done"), group="act")

    def action_release_all(self) -> None:
        def chosen(res: tuple[uuid.UUID, str | None, str] | None) -> None:
            if res is not None:
                key, kind, _ = res
                self.call_core(self.monitor.release_blocked, key, self.event.id, kind,
                               done=self._done("unblocked_done"), group="act")

        self.app.push_screen(BlockDialog(t("release_title"), release=True), chosen)

    def action_back(self) -> None:
        self.dismiss(None)
