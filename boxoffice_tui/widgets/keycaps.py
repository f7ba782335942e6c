"""Keys as the key caps and the guides write them (F5, Ctrl+L, Esc, Enter), for every
footer and key hint of the cashier, the monitor and the kiosk.

Textual writes a bound key its own way (``f5``, ``^l``, ``esc``, ``⏎``), while the guides,
F1 help and the README say F5, Ctrl+L, Esc, Enter: a cashier reads the key cap, so the
footer must say what is printed on it. Each app mixes in ``KeyCaps``, which implements
Textual's documented hook ``App.get_key_display`` (the footer, the command palette and
Textual's own widgets all ask it), so no binding needs its own ``key_display`` for this.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.keys import format_key

__all__ = ["KeyCaps", "binding_cap", "key_cap"]

# Named keys -> the word or symbol on the key cap.
NAMED: dict[str, str] = {
    "escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space",
    "backspace": "Backspace", "delete": "Del", "insert": "Ins",
    "pageup": "PgUp", "pagedown": "PgDn", "home": "Home", "end": "End",
    "up": "↑", "down": "↓", "left": "←", "right": "→",
    "plus": "+", "minus": "-", "equals_sign": "=", "asterisk": "*", "slash": "/",
    "backslash": "\\", "full_stop": ".", "comma": ",", "question_mark": "?",
}
MODIFIERS: dict[str, str] = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt",
                             "meta": "Meta", "super": "Super"}


def key_cap(key: str) -> str:
    """One Textual key name ("f5", "ctrl+l", "escape", "r") as its key cap.

    A plain letter stays as the guides write it (the monitor's ``r``, ``a``, ``c``); with a
    modifier it is the capital on the cap (Ctrl+L)."""
    *mods, name = key.split("+")
    if name in NAMED:
        cap = NAMED[name]
    elif len(name) >= 2 and name[0] == "f" and name[1:].isdigit():
        cap = name.upper()
    elif len(name) == 1:
        cap = name.upper() if mods else name
    else:
        # Anything else Textual knows by a character ("number_sign" -> "#").
        cap = format_key(name)
    return "+".join([*(MODIFIERS.get(m, m.capitalize()) for m in mods), cap])


def binding_cap(binding: Binding) -> str:
    """The binding's own ``key_display`` when it groups keys ("1-9 +/-", "←→"), else the
    first key's cap (a binding of "f10,ctrl+f" shows F10, as Textual would)."""
    if binding.key_display:
        return binding.key_display
    return key_cap(binding.key.split(",")[0].strip())


class KeyCaps:
    """Mixed into the cashier/monitor app and the kiosk app, before ``App``."""

    def get_key_display(self, binding: Binding) -> str:
        return binding_cap(binding)
