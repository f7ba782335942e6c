"""Every use of Textual's private API, in one place (Textual 8.2).

Each function says why the public API is not enough. When Textual is upgraded, this is
the one module to check; everything else in the cashier, the monitor and the kiosk uses
public Textual only. It lives among the shared widgets so the kiosk may use it too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Footer

# FooterKey is not exported from textual.widgets: the footer's key widget is only
# reachable in its private module, and QuickFooter needs its class to set each key's
# ``compact`` before it mounts (see ``start_compact``).
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import Binding
    from textual.dom import DOMNode
    from textual.screen import Screen

__all__ = ["FooterKey", "binding_table", "compose_offscreen", "footer_ready",
           "mark_footer_ready", "on_any_stack", "start_compact"]


def binding_table(node: DOMNode) -> dict[str, list[Binding]]:
    """The node's own key -> bindings map, to rewrite descriptions in place.

    Public Textual reads BINDINGS once per class; there is no call to change a binding's
    description on a live screen or app (keymaps change keys, not labels), and the footer
    labels must follow the language switch (ctrl+l) without rebuilding the screen."""
    return node._bindings.key_to_bindings


def on_any_stack(app: App[Any], screen: Screen[Any]) -> bool:
    """Whether ``screen`` is on the screen stack of any mode.

    ``App.screen_stack`` is public but holds the current mode only; a kept screen pushed
    in another mode must not be reused, and only the private per-mode map knows."""
    return any(screen in stack for stack in app._screen_stacks.values())


def compose_offscreen(app: App[Any], screen: Screen[Any]) -> None:
    """Register, compose and mount an installed screen without showing it.

    Public Textual composes a screen only when it is pushed or switched to; the cashier
    composes the sale screen ahead, while the events list is read, so opening the first
    seat map only loads data (``push_screen`` does exactly this as its first step)."""
    app._get_screen(screen)


def footer_ready(footer: Footer) -> bool:
    """Whether the footer has had its first bindings signal (stock compose shows nothing
    before it). The flag is a private reactive with no public reader."""
    return bool(footer._bindings_ready)


def mark_footer_ready(footer: Footer) -> None:
    """Set the footer's private ``_bindings_ready`` without a recompose, so the first
    compose shows the keys already known (no public setter exists)."""
    footer.set_reactive(Footer._bindings_ready, True)


def start_compact(key: Any, compact: bool) -> None:
    """Give a footer key its final ``compact`` before it mounts, when the footer will
    data-bind it: otherwise it mounts with the default and the binding flips it, two full
    style updates per key. Whether a reactive is data-bound is only in the private
    ``_reactive_connect`` map."""
    if isinstance(key, FooterKey) and "compact" in (key._reactive_connect or {}):
        key.set_reactive(FooterKey.compact, compact)
