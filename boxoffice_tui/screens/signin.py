"""Sign in with operator and PIN, then open the shift with the opening float."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Input, Label, Static

from boxoffice_tui.base import BaseModal, BaseScreen, after_typed_keys, error_text
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from core.money import parse_minor

if TYPE_CHECKING:
    from core.actors import OperatorInfo


class SignInScreen(BaseScreen):
    BINDINGS = [Binding("enter", "sign_in", "sign_in", priority=True),
                Binding("ctrl+q", "app.quit", "quit")]

    def __init__(self, notice: str = "") -> None:
        """``notice``: why the last session ended (a shift waiting for approval), for
        whoever signs in next."""
        super().__init__()
        self.notice = notice

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with Vertical(id="signin-box", classes="dialog"):
            yield Label(t("sign_in_title", terminal=self.bo.services.terminal_name),
                        id="signin-title", classes="title")
            if self.notice:
                yield Static(self.notice, id="signin-notice", classes="warning")
            yield Label(t("operator"), id="lbl-login")
            # No real operator's login as the example: a hint of what to type.
            yield Input(id="login", placeholder=t("login_hint"))
            yield Label(t("pin"), id="lbl-pin")
            yield Input(id="pin", password=True, restrict=r"[0-9]*", max_length=12)
            yield Static("", id="signin-error", classes="error")
            yield Button(t("sign_in"), id="signin-btn", variant="primary")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#login", Input).focus()

    def retranslate(self) -> None:
        super().retranslate()
        self.query_one("#signin-title", Label).update(
            t("sign_in_title", terminal=self.bo.services.terminal_name))
        self.query_one("#lbl-login", Label).update(t("operator"))
        self.query_one("#signin-btn", Button).label = t("sign_in")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_sign_in()

    @after_typed_keys  # the first Enter of a burst "1234⏎" saw an empty PIN
    def action_sign_in(self) -> None:
        login = self.query_one("#login", Input)
        pin = self.query_one("#pin", Input)
        if self.focused is login and not pin.value:
            pin.focus()
            return
        if not login.value or not pin.value:
            return
        self.query_one("#signin-error", Static).update("")
        self.call_core(self.counter.sign_in, login.value, pin.value, done=self._signed_in,
                       failed=self._failed, group="signin", exclusive=True)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#signin-error", Static).update(error_text(exc))
        pin = self.query_one("#pin", Input)
        pin.value = ""
        pin.focus()

    def _signed_in(self, op: OperatorInfo) -> None:
        self.cashier.signed_in(op)


class OpenShiftScreen(BaseModal):
    """Asks for the opening float; dismisses with the ShiftInfo."""

    # Esc does nothing here (no selling without a shift): kept out of the footer.
    BINDINGS = [Binding("enter", "open", "open_shift", priority=True),
                Binding("escape", "cancel", "cancel", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self._key = uuid.uuid4()  # the same key if the cashier retries after an error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="shift-box"):
            yield Label(t("open_shift"), classes="title")
            yield Label(t("opening_float"))
            yield Input(id="float", value="200,00", restrict=r"[0-9.,]*")
            yield Static("", id="shift-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#float", Input).focus()

    def action_cancel(self) -> None:
        pass  # a cashier cannot sell without a shift

    @after_typed_keys
    def action_open(self) -> None:
        raw = self.query_one("#float", Input).value
        try:
            minor = parse_minor(raw)
        except ValueError:
            self.query_one("#shift-error", Static).update(f"{t('amount')}: {raw} ?")
            return
        self.call_core(self.counter.open_shift, minor, self._key, done=self.dismiss,
                       failed=lambda e: self.query_one("#shift-error", Static).update(
                           error_text(e)), group="shift", exclusive=True)
