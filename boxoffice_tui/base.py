"""What every cashier and monitor screen shares: calling the terminal session from thread
workers (``boxoffice_tui.widgets.core_calls``, shared with the kiosk) with errors turned
into messages, and footer labels that follow the language switch."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from boxoffice_tui.i18n import language, t
from boxoffice_tui.widgets.core_calls import CoreCalls as SharedCoreCalls
from core.errors import BoxOfficeError

if TYPE_CHECKING:
    from boxoffice_tui.app import BoxOfficeApp, CashierApp
    from terminal.counter import CounterSession
    from terminal.monitor import MonitorSession


def translate_bindings(node: Any) -> None:
    """Footer descriptions are i18n keys in BINDINGS; show them in the current language."""
    originals: dict[tuple[str, str], str] | None = getattr(node, "_i18n_keys", None)
    km = node._bindings.key_to_bindings
    if originals is None:
        originals = {}
        for key, lst in km.items():
            for b in lst:
                originals[(key, b.action)] = b.description
        node._i18n_keys = originals
    for key, lst in km.items():
        km[key] = [replace(b, description=t(originals.get((key, b.action), b.description)))
                   for b in lst]


def error_text(exc: BaseException) -> str:
    if isinstance(exc, BoxOfficeError):
        return exc.message(language())
    return t("unexpected", kind=type(exc).__name__)


def after_typed_keys(action: Callable[..., Any]) -> Callable[..., Any]:
    """For actions bound to a priority Enter: a priority binding runs before the focused
    input has taken the keys typed just before Enter (a burst: a fast typist, a barcode or
    card reader, tmux), so the action runs in that input's own queue, after them."""

    @functools.wraps(action)
    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input):
            focused.call_later(action, self, *args, **kwargs)
        else:
            action(self, *args, **kwargs)

    return run


class CoreCalls(SharedCoreCalls):
    """The shared worker helper, with the app and its session typed for the screen: a
    cashier screen asks ``self.counter`` and ``self.cashier``, a monitor screen
    ``self.monitor``; what every app has is on ``self.bo``."""

    @property
    def bo(self) -> BoxOfficeApp:
        return self.app  # type: ignore[attr-defined]

    @property
    def cashier(self) -> CashierApp:
        return cast("CashierApp", self.app)  # type: ignore[attr-defined]

    @property
    def counter(self) -> CounterSession:
        return cast("CounterSession", self.bo.services)

    @property
    def monitor(self) -> MonitorSession:
        return cast("MonitorSession", self.bo.services)


class BaseScreen(CoreCalls, Screen):
    # Help and the language switch are app bindings, so they come last in the footer.
    BINDINGS: ClassVar[list[BindingType]] = []

    def on_mount(self) -> None:
        translate_bindings(self)

    def retranslate(self) -> None:
        translate_bindings(self)


class BaseModal(CoreCalls, ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def on_mount(self) -> None:
        translate_bindings(self)

    def retranslate(self) -> None:
        translate_bindings(self)

    def action_cancel(self) -> None:
        self.dismiss(None)
