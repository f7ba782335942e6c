"""Paying: the self-exclusion check, the summary with the hold countdown, the card, the
tickets leaving the printer (or the way to collect them), thank you."""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Digits, Input, Static

from boxoffice_tui.widgets.keypad import Keypad
from core.errors import BoxOfficeError
from core.language import LANGUAGES, language
from core.payments import DECLINE_CODES, TEST_CARDS
from kiosk.i18n import card_label, error_message, sentence, t
from kiosk.screens.base import FocusScroll, KioskHeader, KioskScreen, money, when
from terminal.card_input import card_input, pay_at_kiosk

if TYPE_CHECKING:
    from core.outbox import CustomerContact
    from core.sales import CheckoutResult


# The card reader's labels (pt-BR, en, es): a real gateway reads the card on the reader,
# and the test-card buttons exist only with the sandbox (terminal.card_input).
STRINGS: dict[str, tuple[str, str, str]] = {
    "reader_pay": ("▶ Pagar: aproxime ou insira o cartão na maquininha",
                   "▶ Pay: tap or insert your card on the reader",
                   "▶ Pagar: acerque o inserte la tarjeta en el lector"),
    "reader_wait": ("Siga as instruções da maquininha... não retire o cartão.",
                    "Follow the reader's instructions... do not remove the card.",
                    "Siga las instrucciones del lector... no retire la tarjeta."),
}


def st(key: str) -> str:
    return STRINGS[key][LANGUAGES.index(language())]


def mmss(seconds: float) -> str:
    s = max(0, math.ceil(seconds))
    return f"{s // 60}:{s % 60:02d}"


class IdentifyScreen(KioskScreen):
    screen_name = "identify"

    def title_text(self) -> str:
        return t("id_title")

    def body(self) -> ComposeResult:
        with Horizontal(id="identify"):
            with Vertical(id="identify-left"):
                yield Static(t("id_why"), classes="explain")
                yield Input(id="identifier", password=True, max_length=20)
                yield Static("", id="status", classes="message")
                yield Button(t("continue"), id="id-continue", classes="primary")
            yield Keypad(id="keypad")

    def on_mount(self) -> None:
        self.focus_id("#identifier")

    def on_keypad_pressed(self, event: Keypad.Pressed) -> None:
        inp = self.query_one("#identifier", Input)
        inp.value = inp.value[:-1] if event.key == "backspace" else (inp.value + event.key)[:20]
        self.kiosk.touch()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._check()

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id == "id-continue":
            self._check()

    def _check(self) -> None:
        if self.busy:
            return
        value = self.query_one("#identifier", Input).value
        self.set_busy(True)
        self.query_one("#status", Static).update(t("checking"))
        self.call_core(self.kiosk.services.check_exclusion, value, done=self._ok,
                       failed=self._failed, group="exclusion", exclusive=True)

    def _ok(self, _: Any) -> None:
        self.set_busy(False)
        self.purchase.identified = True
        self.kiosk.next_step(self.screen_name)

    def _failed(self, exc: BaseException) -> None:
        from core.errors import BoxOfficeError

        self.set_busy(False)
        if isinstance(exc, BoxOfficeError) and exc.code == "self_excluded":
            k = self.kiosk
            p, k.purchase = k.purchase, None
            if p is not None:
                k.release_hold_later(p.hold)
            k.to_attract(t("excluded"))
            return
        self.query_one("#identifier", Input).value = ""
        self.query_one("#status", Static).update(t("error", message=error_message(exc)))


class SummaryScreen(KioskScreen):
    screen_name = "summary"

    def title_text(self) -> str:
        return t("summary_title")

    def body(self) -> ComposeResult:
        p = self.purchase
        hold = p.hold
        assert hold is not None
        ev = p.event
        at = when(ev.starts_at, self.kiosk.tz, ev.timezone)
        lines = [f"[b]{ev.name}[/b]", f"{at} · {ev.venue}"]
        if p.seat_labels:
            lines.append(", ".join(p.seat_labels))
        else:
            lines.append(t("ga_places", n=hold.quantity))
        by_price: dict[int, int] = {}
        for ln in hold.lines:
            by_price[ln.unit_price_minor] = by_price.get(ln.unit_price_minor, 0) + ln.qty
        for price, qty in sorted(by_price.items(), reverse=True):
            lines.append(f"{qty} × {money(price, hold.currency)}")
        with FocusScroll(id="summary"):
            yield Static("\n".join(lines), id="order-lines", classes="explain")
            with Horizontal(id="total-row"):
                yield Static(f"{t('total')}: [b]{money(hold.total_minor, hold.currency)}[/b]",
                             id="total", classes="headline")
                yield Digits(self._left_digits(), id="countdown")
            yield Static(self._left_text(), id="hold-left", classes="explain")
            yield Static(t("card_only"), classes="explain")
            refusal = card_input(self.kiosk.services).refusal
            if refusal:  # no card can be taken here: the button says why, and stays off
                yield Button(sentence(error_message(BoxOfficeError(refusal))), id="pay",
                             classes="primary big", disabled=True)
            else:
                yield Button(t("pay_card"), id="pay", classes="primary big")
            yield Static("", id="status", classes="message")

    def _remaining(self) -> float:
        p = self.kiosk.purchase
        if p is None or p.hold_deadline is None:
            return 0.0
        return p.hold_deadline - self.kiosk.clock()

    def _left_digits(self) -> str:
        return mmss(self._remaining())

    def _left_text(self) -> str:
        return t("hold_left", mmss=mmss(self._remaining()))

    def on_mount(self) -> None:
        self.focus_id("#pay")

    def on_tick(self, now: float) -> None:
        self.query_one("#countdown", Digits).update(self._left_digits())
        self.query_one("#hold-left", Static).update(self._left_text())

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id != "pay":
            return
        k = self.kiosk
        if card_input(k.services).refusal:
            return  # the button says why; nothing is sent or written
        # Never take money the kiosk cannot honour: printer and card circuit first.
        k.readiness = k.services.readiness()
        if not k.readiness.ok:
            p, k.purchase = k.purchase, None
            if p is not None:
                k.release_hold_later(p.hold)
            k.show_out_of_service()
            return
        k.next_step(self.screen_name)


class PaymentScreen(KioskScreen):
    screen_name = "payment"
    tried = "#card-0"  # the card button last pressed
    # The customer's email for the e-tickets (kiosk.screens.email), kept across a
    # declined card; None: none given (nothing is stored).
    contact: CustomerContact | None = None

    def title_text(self) -> str:
        return t("pay_title")

    def body(self) -> ComposeResult:
        hold = self.purchase.hold
        assert hold is not None
        with FocusScroll(id="payment"):
            yield Static(f"{t('total')}: [b]{money(hold.total_minor, hold.currency)}[/b]",
                         classes="headline")
            yield Button(self._email_label(), id="email", classes="big")
            view = card_input(self.kiosk.services)
            if view.typed:  # the sandbox (the demo): the simulated reader's test cards
                yield Static(t("reader_sim"), classes="explain")
                for i, card in enumerate(TEST_CARDS):
                    yield Button(card_label(card.brand, card.outcome, card.number[-4:]),
                                 id=f"card-{i}", classes="card")
            elif view.refusal:
                yield Button(sentence(error_message(BoxOfficeError(view.refusal))),
                             id="card-reader", classes="card", disabled=True)
            else:
                yield Button(st("reader_pay"), id="card-reader", classes="primary big")
            yield Static("", id="status", classes="message")

    def on_mount(self) -> None:
        self.tried = "#card-0" if card_input(self.kiosk.services).typed else "#card-reader"
        self.focus_id(self.tried)

    def _email_label(self) -> str:
        from kiosk.screens.email import masked, st

        c = self.contact
        return st("email_given", address=masked(c.email)) if c else st("email_button")

    def _ask_email(self) -> None:
        from kiosk.screens.email import EmailDialog

        def given(contact: CustomerContact | None) -> None:
            self.contact = contact
            self.query_one("#email", Button).label = self._email_label()
            self.focus_id(self.tried)

        self.kiosk.push_screen(EmailDialog(self.contact), given)

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id == "email" and not self.busy:
            self._ask_email()
            return
        if not button_id.startswith("card-") or self.busy:
            return
        # Where focus goes back after a refusal: the buttons are disabled while the card
        # is charged, which leaves nothing focused, and the next arrow press then landed
        # on Cancel (and lost the cart).
        self.tried = f"#{button_id}"
        view = card_input(self.kiosk.services)
        if view.refusal:
            return  # the button says why; nothing is sent or written
        test_card: str | None = None
        if button_id != "card-reader":
            if not view.typed:
                return
            test_card = TEST_CARDS[int(button_id.removeprefix("card-"))].payment_method
        p = self.purchase
        assert p.hold is not None
        # One key per card presented: a retried tap of the same attempt cannot charge
        # twice, a second card after a decline is a new attempt.
        p.pay_key = uuid.uuid4()
        self.set_busy(True)
        self.query_one("#status", Static).update(t("paying") if view.typed
                                                 else st("reader_wait"))
        self.call_core(pay_at_kiosk, self.kiosk.services, p.pay_key, p.hold, test_card,
                       contact=self.contact, done=self._paid, failed=self._failed,
                       group="pay", exclusive=True)

    def _paid(self, result: CheckoutResult) -> None:
        self.busy = False
        self.kiosk.sold(result)

    def _failed(self, exc: BaseException) -> None:
        from core.errors import BoxOfficeError

        k = self.kiosk
        self.set_busy(False)
        k.touch()
        code = exc.code if isinstance(exc, BoxOfficeError) else ""
        status = self.query_one("#status", Static)
        self.focus_id(self.tried)
        if code in DECLINE_CODES:
            status.update(t("declined", reason=sentence(error_message(exc))))
        elif code in ("hold_expired", "hold_not_active"):
            k.cancel_purchase("time_up")
        elif code == "kiosk_not_ready" or (code == "gateway_unavailable"
                                           and k.services.breaker().state == "open"):
            p, k.purchase = k.purchase, None
            if p is not None:
                k.release_hold_later(p.hold)
            k.readiness = k.services.readiness()
            k.show_out_of_service()
        else:
            status.update(t("pay_failed", reason=sentence(error_message(exc))))


class PrintingScreen(KioskScreen):
    screen_name = "printing"
    customer = False
    show_nav = False
    busy = True

    def compose(self) -> ComposeResult:
        sale = self.purchase.sale
        assert sale is not None
        yield KioskHeader(t("printing"))
        with Vertical(id="printing"):
            yield Static(t("paid_order", number=sale.order.number), classes="headline")
            yield Static(t("printing"), classes="explain")


class _AfterSale(KioskScreen):
    customer = False
    show_nav = False
    auto_return = True

    def __init__(self) -> None:
        super().__init__()
        self.shown_at: float | None = None

    def on_mount(self) -> None:
        self.shown_at = self.kiosk.clock()
        self.focus_id("#done")

    def on_tick(self, now: float) -> None:
        if self.shown_at is not None and now - self.shown_at >= self.kiosk.kcfg.thanks_s:
            self.kiosk.to_attract()

    def pressed(self, button_id: str, button: Button) -> None:
        if button_id == "done":
            self.kiosk.to_attract()


class ThanksScreen(_AfterSale):
    screen_name = "thanks"

    def compose(self) -> ComposeResult:
        sale = self.purchase.sale
        assert sale is not None
        yield KioskHeader(t("enjoy"))
        with Vertical(id="thanks"):
            yield Static(t("thanks"), classes="headline")
            yield Static(t("paid_order", number=sale.order.number), classes="explain")
            yield Static(t("tickets_n", n=len(sale.ticket_serials)
                           or sum(ln.qty for ln in sale.order.lines)),
                         classes="explain")
            yield Button(t("finish"), id="done", classes="primary big")


class CollectScreen(_AfterSale):
    screen_name = "collect"

    def compose(self) -> ComposeResult:
        sale = self.purchase.sale
        assert sale is not None
        yield KioskHeader("")
        with Vertical(id="collect"):
            yield Static(t("collect_title"), classes="headline")
            yield Digits(str(sale.order.number), id="order-number")
            yield Static(t("collect_body", number=sale.order.number,
                           where=self.kiosk.kcfg.counter_location), classes="explain")
            yield Button(t("finish"), id="done", classes="primary big")
