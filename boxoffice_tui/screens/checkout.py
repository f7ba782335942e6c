"""Checkout: cash with a keypad and the change shown large, or card through the gateway
with progress and the outcome."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Checkbox,
    Digits,
    Input,
    Label,
    LoadingIndicator,
    OptionList,
    Select,
    Static,
)

from boxoffice_tui.base import (
    BaseModal,
    after_typed_keys,
    error_text,
    hide_binding,
    set_binding_label,
)
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import add_strings, t
from boxoffice_tui.widgets.keypad import Keypad
from core.errors import BoxOfficeError
from core.money import format_minor
from terminal.payments import customer_contact
from terminal.results import ExchangeRequest, OfflineCardLimits, OfflineCart, SaleOutcome

if TYPE_CHECKING:
    from core.outbox import CustomerContact
    from core.reservation import HoldResult
    from terminal.card_input import CardInput


DECLINES = frozenset({"card_declined", "insufficient_funds", "expired_card"})

add_strings({
    "email_optional": ("Customer's email for e-tickets (optional)",
                       "E-mail do cliente para os ingressos (opcional)"),
    "email_consent": ("Customer agrees to e-mail", "Cliente autoriza o e-mail"),
    "card_on_reader": ("Ask the customer to present the card on the reader, then press"
                       " Enter.",
                       "Peça ao cliente para aproximar ou inserir o cartão na maquininha e"
                       " tecle Enter."),
    "card_reader_wait": ("Waiting for the card on the reader / gateway...",
                         "Aguardando o cartão na maquininha / operadora..."),
})
# The customer's language for the email (the counter itself speaks pt-BR or English).
EMAIL_LANGUAGES = (("Português", "pt-BR"), ("English", "en"), ("Español", "es"))


class ContactFields(Vertical):
    """The customer's email for the e-tickets, their consent and their language: all
    optional; left empty, nothing is stored. Not offered for a sale from the lease
    (offline) or an exchange, which record no address."""

    DEFAULT_CSS = """
    ContactFields { height: auto; margin-top: 1; }
    ContactFields #email { width: 1fr; }
    ContactFields Horizontal { height: 1; }
    ContactFields #consent { width: 1fr; }
    ContactFields #email-lang { width: 16; }
    """

    def __init__(self, lang: str) -> None:
        super().__init__(id="contact")
        self.lang = lang

    def compose(self) -> ComposeResult:
        yield Input(placeholder=t("email_optional"), id="email", max_length=254,
                    compact=True)
        with Horizontal():
            yield Checkbox(t("email_consent"), id="consent", compact=True)
            yield Select(EMAIL_LANGUAGES, value=self.lang if self.lang == "pt-BR" else "en",
                         allow_blank=False, id="email-lang", compact=True)

    def contact(self) -> CustomerContact | None:
        """The contact as typed, checked (``invalid_email``, ``consent_required``)."""
        return customer_contact(self.query_one("#email", Input).value,
                                str(self.query_one("#email-lang", Select).value),
                                self.query_one("#consent", Checkbox).value)


def _contact_of(screen: BaseModal) -> CustomerContact | None:
    found = screen.query(ContactFields)
    return found.first().contact() if found else None


def _offers_email(hold: object, exchange: ExchangeRequest | None) -> bool:
    return exchange is None and not isinstance(hold, OfflineCart)


def _list_took_enter(screen: BaseModal) -> bool:
    """Enter while the language list is open picks the language: the dialog's Enter (a
    priority binding) would otherwise complete the sale under the open list."""
    focused = screen.focused
    if isinstance(focused, OptionList) and isinstance(focused.parent, Select):
        focused.action_select()
        return True
    return False


def _digits_amount(minor: int, lang: str) -> str:
    """The change in big digits, with the language's decimal mark (250,00 / 250.00)."""
    units, cents = divmod(abs(minor), 100)
    mark = "," if lang == "pt-BR" else "."
    return f"{'-' if minor < 0 else ''}{units}{mark}{cents:02d}"


class CashScreen(BaseModal):
    """Type the tendered amount in cents (2-5-0-0-0 = 250,00) or use the keypad."""

    AUTO_FOCUS = ""  # digits are the amount until the cashier tabs to the name

    BINDINGS = [
        Binding("enter", "confirm", "confirm", priority=True),
        Binding("escape", "cancel", "cancel"),
        Binding("equals_sign", "exact", "exact"),
        Binding("backspace", "key('backspace')", "⌫", show=False),
        *[Binding(str(n), f"key('{n}')", str(n), show=False) for n in range(10)],
    ]

    def __init__(self, hold: HoldResult, exchange: ExchangeRequest | None = None) -> None:
        super().__init__()
        self.hold = hold
        self.exchange = exchange
        self.entry = ""
        self.busy = False
        self._key = uuid.uuid4()  # a retry after a lost answer repeats the same sale

    @property
    def tendered(self) -> int:
        return int(self.entry or "0")

    def compose(self) -> ComposeResult:
        lang = self.bo.lang
        with Vertical(classes="dialog", id="cash-box"):
            yield Label(t("cash_title"), classes="title")
            due = format_minor(self.hold.total_minor, self.hold.currency, lang)
            yield Static(f"{t('due')}: [b]{due}[/b]", id="due")
            with Horizontal(id="cash-row"):
                with Vertical(id="cash-left"):
                    yield Static("", id="tendered")
                    yield Label(t("change"))
                    yield Digits(_digits_amount(0, self.bo.lang), id="change")
                yield Keypad()
            yield Input(placeholder=t("customer_optional"), id="customer", max_length=120)
            if _offers_email(self.hold, self.exchange):
                yield ContactFields(lang)
            yield Static("", id="cash-error", classes="error")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self._show()

    def _show(self) -> None:
        lang = self.bo.lang
        self.query_one("#tendered", Static).update(
            f"{t('tendered')}: [b]{format_minor(self.tendered, self.hold.currency, lang)}[/b]")
        change = self.tendered - self.hold.total_minor
        self.query_one("#change", Digits).update(_digits_amount(max(0, change), self.bo.lang))

    def action_key(self, key: str) -> None:
        # The name and email fields take their own digits.
        if self.busy or isinstance(self.focused, Input):
            return
        if key == "backspace":
            self.entry = self.entry[:-1]
        elif len(self.entry) < 9:
            self.entry = (self.entry + key).lstrip("0")
        self._show()

    def on_keypad_pressed(self, event: Keypad.Pressed) -> None:
        self.action_key(event.key)

    def action_exact(self) -> None:
        self.entry = str(self.hold.total_minor)
        self._show()

    @after_typed_keys
    def action_confirm(self) -> None:
        if self.busy or _list_took_enter(self):
            return
        if self.tendered < self.hold.total_minor:
            self.query_one("#cash-error", Static).update(t("not_enough"))
            return
        try:
            contact = _contact_of(self)
        except BoxOfficeError as exc:
            self.query_one("#cash-error", Static).update(error_text(exc))
            return
        self.busy = True
        self.query_one("#cash-error", Static).update("…")
        name = self.query_one("#customer", Input).value.strip() or None
        self.call_core(self.counter.pay_cash, self._key, self.hold, self.tendered,
                       customer_name=name, exchange=self.exchange, contact=contact,
                       done=self._done, failed=self._failed, group="pay", exclusive=True)

    def _done(self, outcome: SaleOutcome) -> None:
        self.dismiss(outcome)

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.query_one("#cash-error", Static).update(error_text(exc))
        if isinstance(exc, BoxOfficeError) and exc.code in ("hold_expired", "hold_not_active"):
            self.dismiss("hold_lost")


class CardScreen(BaseModal):
    BINDINGS = [
        Binding("enter", "confirm", "confirm", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, hold: HoldResult, card: str = "pm_card_visa",
                 exchange: ExchangeRequest | None = None) -> None:
        super().__init__()
        self.hold = hold
        self.exchange = exchange
        self.card = card
        self.state = "ready"  # ready | waiting | approved | declined | failed
        self.outcome: SaleOutcome | None = None
        self.error_code: str | None = None
        self._key = uuid.uuid4()

    def compose(self) -> ComposeResult:
        # What the terminal's gateway allows here (terminal.card_input): the typed field
        # exists only with the sandbox; a real gateway reads the card on the reader.
        self.input: CardInput = self.counter.card_input()
        with Vertical(classes="dialog", id="card-box"):
            yield Label(t("card_title"), classes="title")
            due = format_minor(self.hold.total_minor, self.hold.currency, self.bo.lang)
            yield Static(f"{t('due')}: [b]{due}[/b]")
            yield Static("", id="card-saf", classes="warning")
            if self.input.typed:  # the sandbox only: test references typed at the counter
                yield Label(t("card_number"))
                yield Input(self.card, id="card-input")
            elif self.input.refusal:
                yield Static(f"[b]✖ {error_text(BoxOfficeError(self.input.refusal))}[/b]",
                             id="card-refused", classes="warning")
            else:
                yield Static(t("card_on_reader"), id="card-reader")
            yield Input(placeholder=t("customer_optional"), id="customer", max_length=120)
            if _offers_email(self.hold, self.exchange):
                yield ContactFields(self.bo.lang)
            yield LoadingIndicator(id="card-progress")
            yield Static("", id="card-result")
        yield QuickFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#card-progress").display = False
        self.query_one("#card-input" if self.input.typed else "#customer", Input).focus()
        saf = self.query_one("#card-saf", Static)
        saf.display = isinstance(self.hold, OfflineCart)
        if saf.display:  # the casino carries the risk until the card is charged
            self.call_core(self.counter.offline_card_limits, done=self._show_risk,
                           group="card-limits", quiet=True)

    def _show_risk(self, limits: OfflineCardLimits) -> None:
        floor, total, held = limits.floor_minor, limits.total_minor, limits.held_minor
        cur, lang = self.hold.currency, self.bo.lang
        self.query_one("#card-saf", Static).update("[b]⚠ " + t(
            "card_saf_risk", floor=format_minor(floor, cur, lang),
            risk=format_minor(held + self.hold.total_minor, cur, lang),
            total=format_minor(total, cur, lang)) + "[/b]")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the gateway works, Cancel is shown but cannot be used.
        if action == "cancel" and self.state == "waiting":
            return None
        return True

    def _answered(self) -> None:
        """The gateway answered: Enter now closes the dialog and the footer offers only
        that (Cancel would undo nothing; Esc still closes)."""
        set_binding_label(self, "enter", "confirm", "close")
        hide_binding(self, "escape")

    def action_cancel(self) -> None:
        if self.state == "waiting":
            return  # the gateway call finishes (or times out) on its own
        if self.state == "approved":
            self.dismiss(self.outcome)
        elif self.state in ("declined", "failed"):
            self.dismiss("declined" if self.state == "declined" else None)
        else:
            self.dismiss(None)

    @after_typed_keys
    def action_confirm(self) -> None:
        if _list_took_enter(self):
            return
        if self.state in ("approved", "declined", "failed"):
            self.action_cancel()
            return
        if self.state == "waiting":
            return
        try:
            contact = _contact_of(self)
        except BoxOfficeError as exc:
            self.query_one("#card-result", Static).update(f"[b]✖ {error_text(exc)}[/b]")
            return
        if self.input.refusal:
            # Nothing is sent or written: the dialog already says why.
            self.app.bell()
            return
        self.state = "waiting"
        self.refresh_bindings()
        self.query_one("#card-progress").display = True
        card: str | None = None
        if self.input.typed:
            self.query_one("#card-result", Static).update(t("card_progress"))
            card = self.query_one("#card-input", Input).value.strip() or self.card
        else:
            self.query_one("#card-result", Static).update(t("card_reader_wait"))
        name = self.query_one("#customer", Input).value.strip() or None
        self.call_core(self.counter.pay_card, self._key, self.hold, card,
                       customer_name=name, exchange=self.exchange, contact=contact,
                       done=self._done, failed=self._failed, group="pay", exclusive=True)

    def _done(self, outcome: SaleOutcome) -> None:
        self.state = "approved"
        self.outcome = outcome
        self.query_one("#card-progress").display = False
        brand = f" · {(outcome.card_brand or '').capitalize()} •••• {outcome.card_last4}" \
            if outcome.card_last4 else ""
        if outcome.offline:
            brand += " · " + t("card_saf_done", risk=format_minor(
                outcome.card_risk_minor, outcome.currency, self.bo.lang))
        self.query_one("#card-result", Static).update(
            "[b]✔ " + t("sale_done", number=outcome.order_number,
                        total=format_minor(outcome.total_minor, outcome.currency,
                                           self.bo.lang)) + brand + "[/b]")
        self._answered()

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#card-progress").display = False
        declined = isinstance(exc, BoxOfficeError) and exc.code in DECLINES
        self.state = "declined" if declined else "failed"
        self.error_code = exc.code if isinstance(exc, BoxOfficeError) else type(exc).__name__
        # The catalogue's decline text already says "declined": no prefix that says it again.
        msg = error_text(exc)
        hint = t("declined_hint") if declined else ""
        self.query_one("#card-result", Static).update(f"[b]✖ {msg}[/b] {hint}".rstrip())
        self._answered()
