"""The cash keypad counts every tap, however quick (a touch screen at the counter)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from boxoffice_tui.widgets.keypad import Keypad


class KeypadApp(App[None]):
    CSS = "Keypad { width: 24; }"  # as the cash dialog sizes it

    def __init__(self) -> None:
        super().__init__()
        self.typed: list[str] = []

    def compose(self) -> ComposeResult:
        yield Keypad()

    def on_keypad_pressed(self, event: Keypad.Pressed) -> None:
        self.typed.append(event.key)


@pytest.mark.anyio
async def test_quick_taps_on_one_key_all_count() -> None:
    app = KeypadApp()
    async with app.run_test() as pilot:
        for key in ("#key-3", "#key-0", "#key-0", "#key-0", "#key-bs"):
            await pilot.click(key)
        await pilot.pause()
    assert app.typed == ["3", "0", "0", "0", "backspace"]
