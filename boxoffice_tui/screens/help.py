"""Every key the cashier can press, in the current language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from boxoffice_tui.base import BaseModal
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import t

KEYS = (
    ("F1", "help"), ("Ctrl+L", "language"), ("Ctrl+P", "Command palette / Paleta"),
    ("Enter", "open_event"), ("↑ ↓ ← →", "move"),
    ("PgUp PgDn Home End", "move"), ("Space / click", "toggle"),
    ("Enter", "help_hold"), ("1-9", "help_best"), ("+ / -", "help_qty"),
    ("T", "help_extend"), ("Del / X", "help_clear"), ("F5", "cash"), ("F6", "card"),
    ("F3", "orders"), ("F7", "reprint"), ("Space", "help_pick_ticket"), ("F9", "refund"),
    ("F11 / Ctrl+T", "exchange"), ("F8", "x_report"),
    ("F10 / Ctrl+F", "close_shift"), ("Esc", "back"), ("Ctrl+Q", "quit"),
)


class HelpScreen(BaseModal):
    BINDINGS = [Binding("escape,f1,q", "cancel", "back")]

    def compose(self) -> ComposeResult:
        lines = "\n".join(f"[b]{k:<19}[/b] {t(v)}" for k, v in KEYS)
        with Vertical(classes="dialog", id="help-box"):
            yield Label(t("help_title"), classes="title")
            with VerticalScroll():
                yield Static(lines, id="help-body")
        yield QuickFooter()
