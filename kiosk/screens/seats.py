"""The seats the kiosk chose, on the cashier's seat map; or the customer's own pick."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from boxoffice_tui.widgets.seatmap import SeatMap, stage_label
from kiosk.i18n import error_message, t
from kiosk.screens.base import KioskScreen

if TYPE_CHECKING:
    from core.reservation import HoldResult
    from terminal.results import SeatMapData


class SeatsScreen(KioskScreen):
    screen_name = "seats"

    def __init__(self) -> None:
        super().__init__()
        self.choosing = False
        self.loaded = False

    def title_text(self) -> str:
        return t("seats_title")

    def body(self) -> ComposeResult:
        yield Static(t("finding"), id="picked-text", classes="explain")
        yield SeatMap(id="seatmap")
        yield Static(t("legend"), id="legend", classes="legend")
        with Horizontal(id="seat-actions"):
            yield Button(t("keep_seats"), id="keep", classes="primary")
            yield Button(t("choose_other"), id="choose")
            yield Button(t("hold_picked"), id="confirm-picked", classes="primary",
                         disabled=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-picked").display = False
        self.focus_id("#keep")
        self.call_core(self.kiosk.services.seat_map, self.purchase.event.id,
                       done=self._loaded, group="seatmap", exclusive=True)

    def _loaded(self, data: SeatMapData) -> None:
        if self.kiosk.purchase is None:
            return
        smap = self.query_one(SeatMap)
        hold = self.purchase.hold
        smap.load(data.layout, data.availability, stage_label(data.stage),
                  mine=hold.seat_ids if hold else ())
        self.loaded = True
        self._describe()

    def _describe(self) -> None:
        smap = self.query_one(SeatMap)
        p = self.purchase
        hold = p.hold
        labels = tuple(smap.seat_ref(s).label.strip() for s in hold.seat_ids) if hold else ()
        p.seat_labels = labels
        self.query_one("#picked-text", Static).update(t("we_picked", seats=", ".join(labels)))
        if hold and hold.seat_ids:
            smap.move_cursor_to(hold.seat_ids[0])

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id == "keep" and self.loaded:
            self.kiosk.next_step(self.screen_name)
        elif button_id == "choose" and self.loaded:
            self.choosing = True
            for bid, show in (("keep", False), ("choose", False), ("confirm-picked", True)):
                self.query_one(f"#{bid}").display = show
            self._count()
            self.query_one(SeatMap).focus()
        elif button_id == "confirm-picked":
            self._swap()

    def on_seat_map_selection_changed(self, event: SeatMap.SelectionChanged) -> None:
        self._count()

    def _count(self) -> None:
        smap = self.query_one(SeatMap)
        n = self.purchase.quantity
        k = len(smap.picked)
        self.query_one("#picked-text", Static).update(
            t("pick_hint", n=n) + "  " + t("picked_n", k=k, n=n))
        self.query_one("#confirm-picked", Button).disabled = k != n or self.busy

    def _swap(self) -> None:
        smap = self.query_one(SeatMap)
        p = self.purchase
        if p.hold is None or len(smap.picked) != p.quantity:
            return
        self.set_busy(True)
        self.call_core(self.kiosk.services.swap_hold, uuid.uuid4(), p.event.id,
                       list(smap.picked), p.hold.hold_id, done=self._swapped,
                       failed=self._failed, group="hold", exclusive=True)

    def _swapped(self, hold: HoldResult) -> None:
        k = self.kiosk
        if k.purchase is None:
            k.release_hold_later(hold)
            return
        k.set_hold(hold)
        self.set_busy(False)
        smap = self.query_one(SeatMap)
        smap.clear_picked()
        smap.set_mine(hold.seat_ids)
        self.choosing = False
        for bid, show in (("keep", True), ("choose", True), ("confirm-picked", False)):
            self.query_one(f"#{bid}").display = show
        self._describe()
        self.focus_id("#keep")

    def _failed(self, exc: BaseException) -> None:
        self.set_busy(False)
        self._count()
        self.query_one("#picked-text", Static).update(t("error", message=error_message(exc)))
        # Someone took one of them meanwhile: show the map as it is now.
        self.call_core(self.kiosk.services.availability, self.purchase.event.id,
                       done=lambda a: self.query_one(SeatMap).apply(a), quiet=True)
