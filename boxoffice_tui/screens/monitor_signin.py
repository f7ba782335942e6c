"""The monitor's own sign-in, first thing when it is served to a browser (``boxoffice
monitor --web``): nothing of the floor shows until a supervisor's login and PIN are
accepted (the database checks the PIN and counts failures). Big targets for a tablet."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.widgets import Button, Input, Label, Static

from boxoffice_tui.base import BaseScreen, after_typed_keys, error_text
from boxoffice_tui.header import TerminalHeader
from boxoffice_tui.i18n import t
from boxoffice_tui.screens.monitor_text import mt

if TYPE_CHECKING:
    from boxoffice_tui.app import MonitorApp
    from core.actors import OperatorInfo


class MonitorSignInScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "sign_in", "sign_in", priority=True)]
    DEFAULT_CSS = """
    MonitorSignInScreen Center { height: 1fr; align-vertical: middle; }
    #mon-signin { width: 60; max-width: 100%; height: auto; border: thick $primary;
                  background: $panel; padding: 1 2; }
    #mon-signin Input { margin-bottom: 1; }
    #mon-signin Button { width: 100%; height: 3; }
    #mon-signin-error { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield TerminalHeader()
        with Center(), Vertical(id="mon-signin"):
            yield Label(mt("signin_title"), classes="title", id="mon-signin-title")
            yield Label(t("supervisor"))
            yield Input(id="mon-login")
            yield Label(t("pin"))
            yield Input(id="mon-pin", password=True, restrict=r"[0-9]*", max_length=12)
            yield Static("", id="mon-signin-error")
            yield Button(t("sign_in"), id="mon-signin-btn", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#mon-login", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_sign_in()

    @after_typed_keys
    def action_sign_in(self) -> None:
        login = self.query_one("#mon-login", Input)
        pin = self.query_one("#mon-pin", Input)
        if self.focused is login and not pin.value:
            pin.focus()
            return
        if not login.value or not pin.value:
            return
        # A gate, not an identity: the monitor keeps acting as itself. (Signed in as the
        # operator, core would refuse that supervisor's own PIN on a variance as a
        # self-approval; the console, c, asks for its own sign-in.)
        self.call_core(self.monitor.verify_supervisor, login.value, pin.value,
                       done=self._signed_in, failed=self._failed, group="monitor-sign-in",
                       exclusive=True)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#mon-signin-error", Static).update(error_text(exc))
        pin = self.query_one("#mon-pin", Input)
        pin.value = ""
        pin.focus()

    def _signed_in(self, op: OperatorInfo) -> None:
        from boxoffice_tui.screens.monitor import MonitorScreen

        # The tab's row on the monitor names who signed in here.
        cast("MonitorApp", self.app).gate_login = op.login
        self.app.switch_screen(MonitorScreen())
