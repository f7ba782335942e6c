"""Dialogs over any step: "still there?" and the staff exit."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from kiosk.i18n import t
from kiosk.screens.base import KioskModal


class StillThereDialog(KioskModal):
    screen_name = "still_there"

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("still_there"), classes="headline")
            yield Static(self._left(self.kiosk.clock()), id="still-left", classes="explain")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("im_here"), id="here", classes="primary")
                yield Button(t("cancel"), id="still-cancel")

    def _left(self, now: float) -> str:
        return t("still_body", s=max(0, math.ceil(self.deadline - now)))

    def on_mount(self) -> None:
        self.focus_id("#here")

    def on_tick(self, now: float) -> None:
        self.query_one("#still-left", Static).update(self._left(now))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "here":
            self.kiosk.touch()
            self.dismiss(None)
        else:
            self.kiosk.cancel_purchase("cancel")


class StaffExitDialog(KioskModal):
    """A supervisor's login and PIN close the kiosk (holds released first)."""

    screen_name = "staff"
    BINDINGS = [("escape", "close", "")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("staff_title"), classes="headline")
            yield Input(placeholder=t("staff_login"), id="staff-login")
            yield Input(placeholder=t("staff_pin"), password=True, id="staff-pin")
            yield Static("", id="staff-msg", classes="message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("staff_exit"), id="staff-exit", classes="primary")
                yield Button(t("back"), id="staff-back")

    def on_mount(self) -> None:
        self.focus_id("#staff-login")

    def action_close(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "staff-login":
            self.focus_id("#staff-pin")
        else:
            self._try()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "staff-exit":
            self._try()
        else:
            self.dismiss(None)

    def _try(self) -> None:
        login = self.query_one("#staff-login", Input).value
        pin = self.query_one("#staff-pin", Input).value
        self.call_core(self.kiosk.services.verify_supervisor, login, pin, done=self._ok,
                       failed=self._wrong, group="staff", exclusive=True)

    def _ok(self, op: object) -> None:
        self.kiosk.run_worker(self.kiosk.shutdown("staff exit"), group="shutdown")

    def _wrong(self, exc: BaseException) -> None:
        self.query_one("#staff-pin", Input).value = ""
        self.query_one("#staff-msg", Static).update(t("staff_wrong"))
        self.focus_id("#staff-pin")
