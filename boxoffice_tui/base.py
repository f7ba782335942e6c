"""What every screen shares: calling core from thread workers with errors turned into
messages, and footer labels that follow the language switch."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from boxoffice_tui.i18n import language, t
from core.errors import BoxOfficeError

if TYPE_CHECKING:
    from boxoffice_tui.app import BoxOfficeApp

log = logging.getLogger("boxoffice_tui")


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


class CoreCalls:
    """Mixin for screens: ``self.call_core(fn, *args, done=...)`` runs ``fn`` in a thread
    worker; the result goes to ``done`` on the UI thread, a ``BoxOfficeError`` becomes a
    clear message, anything else is logged with its traceback and shown as a short line."""

    @property
    def bo(self) -> BoxOfficeApp:
        return self.app  # type: ignore[attr-defined,return-value]

    def call_core(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], Any] | None
                  = None, failed: Callable[[BaseException], Any] | None = None,
                  group: str = "core", exclusive: bool = False, quiet: bool = False,
                  **kwargs: Any) -> Worker:
        app = self.bo

        def job() -> None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # shown, never a traceback on screen
                if not isinstance(exc, BoxOfficeError):
                    log.exception("core call %s failed", getattr(fn, "__name__", fn))
                app.call_from_thread(app.core_failed, exc, failed, quiet)
                return
            app.call_from_thread(app.core_ok)
            if done is not None:
                app.call_from_thread(done, result)

        return self.run_worker(job, thread=True, group=group,  # type: ignore[attr-defined]
                               exclusive=exclusive, exit_on_error=False)


class BaseScreen(CoreCalls, Screen):
    # Help and the language switch are app bindings, so they come last in the footer.
    BINDINGS: list[Binding] = []

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
