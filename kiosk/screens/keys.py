"""F1 on the kiosk: the kiosk's own keys, in the customer's language (docs/kiosk.md's key
table, cell for cell: tests/kiosk/test_keys_help.py holds the two to each other)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.i18n import language, t
from kiosk.screens.base import MOVE_BINDINGS, KioskModal

# key as docs/kiosk.md writes it -> what it does (pt-BR, en, es).
KEYS: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("↑ ↓ ← → or Tab", ("passar de uma opção a outra", "move from choice to choice",
                        "pasar de una opción a otra")),
    ("Enter or a touch", ("escolher", "choose", "elegir")),
    ("Space", ("marcar ou desmarcar o lugar (mapa de lugares)",
               "pick or unpick the seat (seat map)",
               "marcar o desmarcar el asiento (mapa de asientos)")),
    ("Esc", ("voltar um passo", "back one step", "volver un paso")),
    ("F1", ("estas teclas", "these keys", "estas teclas")),
    ("F12", ("saída da equipe (login e PIN de um supervisor)",
             "staff exit (a supervisor's login and PIN)",
             "salida del personal (usuario y PIN de supervisor)")),
)
TITLE = ("Teclas", "Keys", "Teclas")
# The key column in the customer's language ("or" and "a touch" are words).
OR = {"pt-BR": (" or a touch", " ou toque", " or ", " ou "),
      "es": (" or a touch", " o un toque", " or ", " o ")}


def _lang_index() -> int:
    return {"pt-BR": 0, "en": 1, "es": 2}.get(language(), 1)


def key_label(key: str) -> str:
    words = OR.get(language())
    if words is None:
        return key
    touch_en, touch, or_en, or_ = words
    return key.replace(touch_en, touch).replace(or_en, or_)


def keys_text() -> str:
    i = _lang_index()
    labels = [key_label(k) for k, _ in KEYS]
    width = max(len(k) for k in labels) + 2
    return "\n".join(f"[b]{k:<{width}}[/b]{what[i]}" for k, (_, what) in zip(labels, KEYS,
                                                                           strict=True))


class KeysDialog(KioskModal):
    screen_name = "keys"
    # F1 again closes it too (the app's F1, kiosk.app.KioskApp.action_keys).
    BINDINGS = [*MOVE_BINDINGS, Binding("escape", "close", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="keys"):
            yield Static(TITLE[_lang_index()], classes="headline")
            yield Static(keys_text(), id="keys-body", classes="explain")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("back"), id="keys-back", classes="primary")

    def on_mount(self) -> None:
        self.focus_id("#keys-back")

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
