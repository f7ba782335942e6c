"""The customer's email for the e-tickets, typed on the kiosk's on-screen keyboard (a
touch kiosk has no keyboard), with their consent. Optional: Skip (or OK with nothing
typed) stores nothing; the sale goes on either way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Checkbox, Static

from boxoffice_tui.widgets.onscreen_keyboard import OnscreenKeyboard, key_id
from core.errors import BoxOfficeError
from core.language import LANGUAGES, language
from kiosk.i18n import error_message
from kiosk.screens.base import KioskModal
from terminal.payments import customer_contact

if TYPE_CHECKING:
    from core.outbox import CustomerContact

# key: (pt-BR, en, es)
STRINGS: dict[str, tuple[str, str, str]] = {
    "email_button": ("✉ Receber os ingressos por e-mail (opcional)",
                     "✉ Get the tickets by email too (optional)",
                     "✉ Recibir las entradas por correo (opcional)"),
    "email_given": ("✉ Ingressos por e-mail para {address}  (tocar para mudar)",
                    "✉ Tickets by email to {address}  (touch to change)",
                    "✉ Entradas por correo a {address}  (tocar para cambiar)"),
    "email_title": ("Ingressos por e-mail", "Tickets by email", "Entradas por correo"),
    "email_explain": ("Opcional: os ingressos também saem impressos aqui.",
                      "Optional: the tickets print here as well.",
                      "Opcional: las entradas también se imprimen aquí."),
    "email_consent": ("Aceito receber os ingressos e avisos desta compra neste e-mail.",
                      "I agree to receive the tickets and news of this purchase here.",
                      "Acepto recibir las entradas y avisos de esta compra en este correo."),
    "email_ok": ("✔ OK", "✔ OK", "✔ OK"),
    "email_skip": ("Pular", "Skip", "Omitir"),
}
# What a typed key may add (a USB keyboard at an accessible kiosk types too).
_TYPABLE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@.-_+")
TALL_MIN = 34  # rows from which the keys are three lines high (touch targets)


def st(key: str, **kw: Any) -> str:
    template = STRINGS[key][LANGUAGES.index(language())]
    return template.format(**kw) if kw else template


def masked(address: str) -> str:
    """The address as the payment screen shows it on the public floor: ``a•••@host``."""
    local, _, host = address.partition("@")
    return f"{local[:1]}•••@{host}"


class EmailDialog(KioskModal):
    """Dismisses with a ``CustomerContact`` (address checked, consent given, the kiosk's
    language) or None (skipped)."""

    screen_name = "email"
    customer = True  # the idle prompt applies: a customer may walk away from it
    CSS: ClassVar[str] = """
    EmailDialog { align: center middle; }
    EmailDialog #dialog { width: 76; }
    EmailDialog #email-value { border: round $primary; height: 3; padding: 0 1;
                               margin: 1 0 0 0; }
    EmailDialog #email-consent { margin: 1 0 0 0; width: 100%; }
    EmailDialog OnscreenKeyboard { margin: 1 0 0 0; width: 100%; grid-rows: 1; }
    EmailDialog OnscreenKeyboard Key { height: 1; min-width: 4; width: 100%;
                                       border: none; }
    EmailDialog.-tall OnscreenKeyboard { grid-rows: 3; }
    EmailDialog.-tall OnscreenKeyboard Key { height: 3; border: tall $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *KioskModal.BINDINGS, Binding("escape", "skip", show=False),
        Binding("backspace", "erase", show=False)]

    def __init__(self, current: CustomerContact | None = None) -> None:
        super().__init__()
        self.value = current.email if current is not None else ""
        self._consent = current is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(st("email_title"), classes="headline")
            yield Static(st("email_explain"), classes="explain")
            yield Static(self._shown(), id="email-value")
            yield Checkbox(st("email_consent"), self._consent, id="email-consent",
                           compact=True)
            yield OnscreenKeyboard({"ok": st("email_ok"), "skip": st("email_skip")},
                                   id="keyboard")
            yield Static("", id="email-msg", classes="message")

    def on_mount(self) -> None:
        self._fit(self.app.size.height)
        self.focus_id(f"#{key_id('a')}")

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        self.set_class(height >= TALL_MIN, "-tall")

    def _shown(self) -> str:
        return f"{self.value}▏"

    def _show(self) -> None:
        self.query_one("#email-value", Static).update(self._shown())
        self.query_one("#email-msg", Static).update("")

    def on_onscreen_keyboard_pressed(self, event: OnscreenKeyboard.Pressed) -> None:
        event.stop()
        self.kiosk.touch()
        if event.key == "ok":
            self._ok()
        elif event.key == "skip":
            self.dismiss(None)
        elif event.key == "backspace":
            self.action_erase()
        else:
            self._type(event.key)

    def on_key(self, event: events.Key) -> None:
        if event.character and len(event.character) == 1 \
                and event.character.lower() in _TYPABLE:
            event.stop()
            self._type(event.character.lower())

    def _type(self, text: str) -> None:
        if len(self.value) + len(text) <= 254:
            self.value += text
            self._show()

    def action_erase(self) -> None:
        self.value = self.value[:-1]
        self._show()

    def action_skip(self) -> None:
        self.dismiss(None)

    def _ok(self) -> None:
        consent = self.query_one("#email-consent", Checkbox).value
        try:
            contact = customer_contact(self.value, language(), consent)
        except BoxOfficeError as exc:
            self.query_one("#email-msg", Static).update(f"✖ {error_message(exc)}")
            return
        self.dismiss(contact)
