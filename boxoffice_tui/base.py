"""What every cashier and monitor screen shares: calling the terminal session from thread
workers (``boxoffice_tui.widgets.core_calls``, shared with the kiosk) with errors turned
into messages, the app's typed view of itself (``boxoffice_tui.protocols``), the hooks
the app calls on every screen of its stack, and footer labels that follow the language
switch."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from boxoffice_tui.i18n import language, t
from boxoffice_tui.widgets.core_calls import CoreCalls as SharedCoreCalls
from boxoffice_tui.widgets.textual_compat import binding_table
from core.errors import BoxOfficeError

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from boxoffice_tui.protocols import CounterHost, MonitorHost, ScreenHost
    from terminal.counter import CounterSession
    from terminal.monitor import MonitorSession

# Each node's i18n keys, as its BINDINGS declared them (the live ones get translated).
_ORIGINAL_KEYS: weakref.WeakKeyDictionary[DOMNode, dict[tuple[str, str], str]] = \
    weakref.WeakKeyDictionary()


def translate_bindings(node: DOMNode) -> None:
    """Footer descriptions are i18n keys in BINDINGS; show them in the current language."""
    km = binding_table(node)
    originals = _ORIGINAL_KEYS.get(node)
    if originals is None:
        originals = {}
        for key, lst in km.items():
            for b in lst:
                originals[(key, b.action)] = b.description
        _ORIGINAL_KEYS[node] = originals
    for key, lst in km.items():
        km[key] = [replace(b, description=t(originals.get((key, b.action), b.description)))
                   for b in lst]


def set_binding_label(node: DOMNode, key: str, action: str, label_key: str) -> None:
    """Give a live binding another footer label (an i18n key), kept across ctrl+l: e.g.
    the card dialog's Enter reads "Close" once the gateway has answered."""
    translate_bindings(node)  # records the declared labels first
    _ORIGINAL_KEYS[node][(key, action)] = label_key
    translate_bindings(node)
    node.refresh_bindings()


def hide_binding(node: DOMNode, key: str) -> None:
    """Keep a key working but take it out of the footer (e.g. Esc once a card dialog has
    its answer: Enter "Close" is the one thing to offer, and Esc still closes it)."""
    km = binding_table(node)
    km[key] = [replace(b, show=False) for b in km.get(key, [])]
    node.refresh_bindings()


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


class AppHooks:
    """What the app tells every screen on its stack; a screen overrides what concerns it.
    (The app calls these on any ``AppHooks`` screen, never by probing for a name.)"""

    def retranslate(self) -> None:
        """The language changed (ctrl+l): redraw labels."""
        translate_bindings(cast("DOMNode", self))

    def sync_changed(self, state: dict[str, Any]) -> None:
        """The offline terminal's state changed (online, queue, leases)."""

    def refresh_card_state(self) -> None:
        """The card gateway's breaker changed state."""

    def order_refunded(self, order_id: str, amount: str) -> None:
        """An order (or some of its tickets) was refunded at this counter."""


class CoreCalls(SharedCoreCalls, AppHooks):
    """The shared worker helper, with the app typed for the screen (see
    ``boxoffice_tui.protocols``): a cashier screen asks ``self.cashier`` and its session
    ``self.counter``, a monitor screen ``self.monitor``; what every app has is on
    ``self.bo``. Textual's own app API stays on ``self.app``."""

    @property
    def bo(self) -> ScreenHost:
        return cast("ScreenHost", self.app)  # type: ignore[attr-defined]

    @property
    def cashier(self) -> CounterHost:
        return cast("CounterHost", self.app)  # type: ignore[attr-defined]

    @property
    def counter(self) -> CounterSession:
        return self.cashier.services

    @property
    def monitor(self) -> MonitorSession:
        return cast("MonitorHost", self.app).services  # type: ignore[attr-defined]


class BaseScreen(CoreCalls, Screen):
    # Help and the language switch are app bindings, so they come last in the footer.
    BINDINGS: ClassVar[list[BindingType]] = []

    def on_mount(self) -> None:
        translate_bindings(self)


class BaseModal(CoreCalls, ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def on_mount(self) -> None:
        translate_bindings(self)

    def action_cancel(self) -> None:
        self.dismiss(None)
