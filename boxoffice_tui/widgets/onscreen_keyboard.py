"""An on-screen keyboard for typing an email address on a touch kiosk (no physical
keyboard): letters, digits, ``@ . - _ +``, backspace, a ``.com`` key, OK and Skip.

Every key is a button: a tap presses it, and the arrow keys move between the keys as on
the grid drawn (the edges lead out to the widgets before and after the keyboard), Enter
presses the focused key. The keyboard only reports what was pressed
(``OnscreenKeyboard.Pressed``); the screen keeps the text."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button

# Rows as drawn; special keys are named (their labels are the screen's: OK and Skip are
# worded in the customer's language).
ROWS: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
    ("q", "w", "e", "r", "t", "y", "u", "i", "o", "p"),
    ("a", "s", "d", "f", "g", "h", "j", "k", "l", "@"),
    ("z", "x", "c", "v", "b", "n", "m", ".", "-", "_"),
    ("+", ".com", "backspace", "skip", "ok"),
)
COLUMNS = 10
# How many grid columns a key of the last row spans (the row fills the ten columns).
SPAN = {"+": 1, ".com": 2, "backspace": 2, "skip": 2, "ok": 3}
_IDS = {"@": "at", ".": "dot", "-": "dash", "_": "underscore", "+": "plus",
        ".com": "dotcom", "backspace": "bs", "skip": "skip", "ok": "ok"}


def key_id(key: str) -> str:
    """The button id of ``key`` (``kb-a``, ``kb-at``, ``kb-ok`` ...)."""
    return f"kb-{_IDS.get(key, key)}"


class Key(Button):
    """One key; ``key`` is what it types or does."""

    def __init__(self, key: str, label: str, *, id: str, classes: str = "") -> None:
        super().__init__(label, id=id, classes=classes, compact=True)
        self.key = key
        # A Button ignores taps during its 0.2 s "pressed" look: a customer typing "00"
        # quickly lost a digit of the address (seen in CI as ka7900 for ka79000).
        self.active_effect_duration = 0


class OnscreenKeyboard(Grid):
    DEFAULT_CSS = """
    OnscreenKeyboard {
        grid-size: 10; grid-gutter: 0 1; grid-rows: 1; height: auto; width: 100%;
        min-width: 59;
    }
    OnscreenKeyboard Key { min-width: 5; width: 100%; height: 1; }
    OnscreenKeyboard Key.-span2 { column-span: 2; }
    OnscreenKeyboard Key.-span3 { column-span: 3; }
    OnscreenKeyboard Key#kb-ok { text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(0, -1)", show=False),
        Binding("right", "move(0, 1)", show=False),
        Binding("up", "move(-1, 0)", show=False),
        Binding("down", "move(1, 0)", show=False),
    ]

    class Pressed(Message):
        """``key``: a character, ``.com``, ``backspace``, ``skip`` or ``ok``."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, labels: dict[str, str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = {"backspace": "⌫", "skip": "Skip", "ok": "OK", **(labels or {})}
        self._pos: dict[str, tuple[int, int]] = {}  # button id -> (row, first column)

    def compose(self) -> ComposeResult:
        for r, row in enumerate(ROWS):
            col = 0
            for key in row:
                span = SPAN.get(key, 1) if r == len(ROWS) - 1 else 1
                bid = key_id(key)
                self._pos[bid] = (r, col)
                yield Key(key, self.labels.get(key, key), id=bid,
                          classes=f"-span{span}" if span > 1 else "")
                col += span

    def set_label(self, key: str, label: str) -> None:
        self.labels[key] = label
        self.query_one(f"#{key_id(key)}", Key).label = label

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, Key):
            self.post_message(self.Pressed(event.button.key))

    def _at(self, row: int, col: int) -> Key | None:
        """The key covering grid cell (row, col)."""
        best: tuple[int, str] | None = None
        for bid, (r, c) in self._pos.items():
            if r == row and c <= col and (best is None or c > best[0]):
                best = (c, bid)
        return self.query_one(f"#{best[1]}", Key) if best else None

    def action_move(self, drow: int, dcol: int) -> None:
        """Left/right: the previous/next key in reading order (from the first or last key,
        out of the keyboard); up/down: the key drawn above or below (from the top or
        bottom row, out of the keyboard)."""
        screen = self.screen
        if dcol:
            screen.focus_previous() if dcol < 0 else screen.focus_next()
            return
        focused = screen.focused
        pos = self._pos.get(focused.id or "") if isinstance(focused, Key) else None
        if pos is None:
            return
        row = pos[0] + drow
        if row < 0 or row >= len(ROWS):
            self._leave(forward=row >= len(ROWS))
            return
        target = self._at(row, pos[1])
        if target is not None:
            target.focus()

    def _leave(self, forward: bool) -> None:
        """Up from the top row or down from the bottom one: the widget before the first
        key or after the last one (wrapping round the screen like Tab)."""
        chain = self.screen.focus_chain
        keys = [w for w in chain if isinstance(w, Key) and w in self.children]
        if not keys:
            return
        i = chain.index(keys[-1] if forward else keys[0]) + (1 if forward else -1)
        chain[i % len(chain)].focus()
