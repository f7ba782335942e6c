"""An on-screen keypad for amounts; the keyboard digits work the same way."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button


class Keypad(Grid):
    DEFAULT_CSS = """
    Keypad { grid-size: 3 4; grid-gutter: 0 1; height: auto; width: auto; }
    Keypad Button { min-width: 7; width: 7; height: 1; border: none; }
    """
    KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", "⌫")

    class Pressed(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def compose(self) -> ComposeResult:
        for k in self.KEYS:
            btn = Button(k, id=f"key-{'bs' if k == '⌫' else k}", compact=True)
            btn.can_focus = False  # typed digits go to the amount; Tab goes to the name
            # Every tap counts: a Button ignores clicks during its 0.2 s pressed look,
            # and a cashier tapping 0 0 quickly would tender a tenth of the amount.
            btn.active_effect_duration = 0
            yield btn

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        label = str(event.button.label)
        self.post_message(self.Pressed("backspace" if label == "⌫" else label))
