"""The attract screen: upcoming shows in turn, the language and the contrast choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.i18n import LANGUAGE_NAMES, LANGUAGES, language, t
from kiosk.screens.base import KioskHeader, KioskScreen, money, when

if TYPE_CHECKING:
    from core.reservation import EventInfo


def on_sale(evs: list[EventInfo]) -> list[EventInfo]:
    return [e for e in evs if e.status == "on_sale"]


class AttractScreen(KioskScreen):
    screen_name = "attract"
    customer = False
    show_nav = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.index = 0
        self.cycled_at: float | None = None

    def compose(self) -> ComposeResult:
        yield KioskHeader(t("welcome"))
        with Vertical(id="attract-body"):
            yield Static(t("coming_up"), classes="label")
            yield Button(self.featured_text(), id="featured", classes="featured")
            yield Button(t("touch_start"), id="start", classes="primary big")
            yield Static(self.message or "", id="message", classes="message")
        with Horizontal(id="options"):
            for lang in LANGUAGES:
                mark = "● " if lang == language() else "○ "
                yield Button(mark + LANGUAGE_NAMES[lang], id=f"lang-{lang}", classes="lang")
            yield Button(t("contrast_on") if self.kiosk.high_contrast else t("contrast_off"),
                         id="contrast", classes="lang")

    def shows(self) -> list[EventInfo]:
        return on_sale(self.kiosk.events_cache)

    def featured_text(self) -> str:
        evs = self.shows()
        if not evs:
            return t("no_shows")
        ev = evs[self.index % len(evs)]
        price = (t("from_price", price=money(ev.min_price_minor, ev.currency))
                 if ev.min_price_minor is not None else "")
        at = when(ev.starts_at, self.kiosk.tz, ev.timezone)
        return (f"{ev.name}\n{at} · {ev.venue} · {price} · "
                f"{t('seats_left', n=ev.available)}")

    def on_mount(self) -> None:
        self.focus_id("#start")

    def events_loaded(self, evs: list[EventInfo]) -> None:
        self.index = 0
        self.query_one("#featured", Button).label = self.featured_text()

    def on_tick(self, now: float) -> None:
        if self.cycled_at is None:
            self.cycled_at = now
        elif now - self.cycled_at >= self.kiosk.kcfg.attract_cycle_s:
            self.advance()
            self.cycled_at = now

    def advance(self) -> None:
        self.index += 1
        self.query_one("#featured", Button).label = self.featured_text()

    def pressed(self, button_id: str, button: Button) -> None:
        k = self.kiosk
        if button_id.startswith("lang-"):
            k.choose_language(button_id.removeprefix("lang-"))
        elif button_id == "contrast":
            k.set_high_contrast(not k.high_contrast)
            self.refresh(recompose=True)
        elif button_id == "start":
            if self.shows():
                k.purchase = None
                k.open_step("shows")
        elif button_id == "featured":
            evs = self.shows()
            if evs:
                k.start_purchase(evs[self.index % len(evs)])
