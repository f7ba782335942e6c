"""What every kiosk screen shares: a header with the step and the hidden staff corner, a
Back/Cancel bar, arrow-key focus moves, and core calls from thread workers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from boxoffice_tui.widgets.core_calls import CoreCalls
from core.money import format_minor
from kiosk.i18n import language, t

if TYPE_CHECKING:
    from kiosk.app import KioskApp, Purchase

MOVE_BINDINGS: list[BindingType] = [
    Binding("left,up", "app.focus_previous", show=False),
    Binding("right,down", "app.focus_next", show=False),
]


class FocusScroll(VerticalScroll):
    """A scrolling list of big buttons whose arrow keys move between the buttons (and
    scroll the focused one into view), as they do on every other kiosk screen. A plain
    VerticalScroll takes Up/Down to scroll itself once its content overflows, so on a
    long list of shows the arrows scrolled the list and only Tab moved."""

    BINDINGS: ClassVar[list[BindingType]] = MOVE_BINDINGS


def money(minor: int, currency: str) -> str:
    return format_minor(minor, currency, "pt-BR" if language() in ("pt-BR", "es") else "en")


def when(ts: datetime, tz: Any = None, venue_tz: str | None = None) -> str:
    """The kiosk's configured zone, else the venue's (as the ticket prints it)."""
    if tz is None and venue_tz:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            tz = ZoneInfo(venue_tz)
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
    local = ts.astimezone(tz)
    return local.strftime("%b %d  %H:%M") if language() == "en" else \
        local.strftime("%d/%m  %H:%M")


class StaffCorner(Static):
    """Five quick taps here open the staff dialog; it shows nothing to customers."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.app.corner_tap()  # type: ignore[attr-defined]


class KioskHeader(Horizontal):
    def __init__(self, title: str, step: str = "") -> None:
        super().__init__()
        self._title, self._step = title, step

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="title")
        yield Static(self._step, id="step")
        yield StaffCorner(" ", id="staff-corner")


class NavBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield Button(t("back"), id="back", classes="nav")
        yield Button(t("cancel"), id="cancel", classes="nav")


class KioskScreen(CoreCalls, Screen):
    """``customer``: a purchase step (idle prompt applies); ``busy``: a card or print job
    is in flight (no idle prompt, no Back/Cancel)."""

    BINDINGS = [Binding("escape", "back", show=False), *MOVE_BINDINGS]
    screen_name = "screen"
    customer = True
    show_nav = True
    busy = False

    @property
    def kiosk(self) -> KioskApp:
        return self.app  # type: ignore[return-value]

    @property
    def purchase(self) -> Purchase:
        p = self.kiosk.purchase
        assert p is not None
        return p

    def title_text(self) -> str:
        return ""

    def compose(self) -> ComposeResult:
        yield KioskHeader(self.title_text(), self.kiosk.step_label(self.screen_name))
        yield from self.body()
        if self.show_nav:
            yield NavBar()

    def body(self) -> ComposeResult:
        yield from ()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "back":
            self.action_back()
        elif bid == "cancel":
            self.action_cancel_purchase()
        else:
            self.pressed(bid, event.button)

    def pressed(self, button_id: str, button: Button) -> None:
        """A screen's own buttons."""

    def action_back(self) -> None:
        if self.busy or not self.show_nav:
            return
        self.kiosk.prev_step(self.screen_name)

    def action_cancel_purchase(self) -> None:
        if self.busy or not self.show_nav:
            return
        self.kiosk.cancel_purchase("cancel")

    def focus_id(self, selector: str) -> None:
        """Focus a widget if it is there (a screen replaced at once never composes)."""
        found = self.query(selector)
        if found:
            found.first().focus()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        for b in self.query(Button):
            b.disabled = busy

    def retranslate(self) -> None:
        self.refresh(recompose=True)


class KioskModal(CoreCalls, ModalScreen):
    BINDINGS: ClassVar[list[BindingType]] = MOVE_BINDINGS
    screen_name = "dialog"

    def focus_id(self, selector: str) -> None:
        found = self.query(selector)
        if found:
            found.first().focus()

    @property
    def kiosk(self) -> KioskApp:
        return self.app  # type: ignore[return-value]
