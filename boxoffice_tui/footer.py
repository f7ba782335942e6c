"""Textual's Footer, recomposed only when the keys it shows really change.

The stock Footer rebuilds all its key widgets on every bindings signal (focus moves,
screen pushes, workers finishing): measured here, eleven rebuilds while one seat map
opened, about 170 ms of CSS work. This one coalesces the signals into one check per
refresh and skips the rebuild when the visible keys are the same."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class QuickFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = False
        self._shown: tuple[Any, ...] | None = None

    def _signature(self) -> tuple[Any, ...]:
        try:
            bindings = self.screen.active_bindings.values()
        except Exception:
            return ()
        return tuple((b.binding.key, b.binding.description, b.enabled, b.tooltip)
                     for b in bindings if b.binding.show)

    def compose(self) -> ComposeResult:
        # The stock compose shows nothing before the first bindings signal, and the
        # signal then rebuilds every key widget, restyles them and lays the screen out
        # again (measured 80-100 ms of a seat-map open). The screen's own and the app's
        # bindings are known already: compose them now, in the screen's language, so the
        # signal finds nothing to change.
        if not self._bindings_ready:
            with contextlib.suppress(Exception):
                screen = self.screen
                if hasattr(screen, "retranslate"):
                    from boxoffice_tui.base import translate_bindings

                    translate_bindings(screen)
                self.set_reactive(Footer._bindings_ready, True)
        self._shown = self._signature() if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                # A key starts compact (its default) and the footer's data binding then
                # flips it: two full style updates per key. Start it as it will end.
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._maybe_recompose)

    async def _maybe_recompose(self) -> None:
        self._pending = False
        if self._signature() != self._shown:
            await self.recompose()
