"""Out of service: the kiosk cannot honour a sale (printer, card payments, database)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.i18n import t
from kiosk.screens.base import KioskHeader, KioskScreen

_REASON_KEYS = {"printer": "oos_printer", "card": "oos_card", "database": "oos_database"}


class OutOfServiceScreen(KioskScreen):
    screen_name = "out_of_service"
    customer = False
    show_nav = False

    def __init__(self, reasons: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.reasons = reasons

    def compose(self) -> ComposeResult:
        yield KioskHeader("")
        with Vertical(id="oos"):
            yield Static(t("oos_title"), classes="headline")
            yield Static(t("oos_body"), classes="explain")
            yield Static(self.reason_text(), id="reasons", classes="explain")

    def reason_text(self) -> str:
        return "\n".join(t(_REASON_KEYS[r]) for r in self.reasons if r in _REASON_KEYS)

    def set_reasons(self, reasons: tuple[str, ...]) -> None:
        if reasons != self.reasons:
            self.reasons = reasons
            for w in self.query("#reasons"):
                w.update(self.reason_text())  # type: ignore[attr-defined]
