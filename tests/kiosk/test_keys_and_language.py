"""Issue 15, kiosk items 13-14: arrows on the list of shows, focus after a declined card,
the decline sentence, card names and printed tickets in the customer's language."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.screens.checkout import PaymentScreen, ThanksScreen
from kiosk.screens.choose import ShowsScreen
from tests.kiosk.conftest import wait_for
from tests.kiosk.helpers import SIZE, shown, started, tap, to_shows, to_summary

pytestmark = [pytest.mark.db, pytest.mark.anyio]


async def test_up_and_down_move_between_shows_on_a_long_list(make_app: Any) -> None:
    app = make_app()
    # 80x24: the list of shows overflows, so its scroll container wanted the arrows.
    async with app.run_test(size=(80, 24)) as pilot:
        await to_shows(pilot)
        screen = app.screen
        assert isinstance(screen, ShowsScreen)
        shows = [b for b in screen.query(".show") if not b.disabled]
        assert len(shows) >= 4
        scroll = screen.query_one("#shows")
        assert scroll.max_scroll_y > 0  # the list does not fit: the case that failed
        await wait_for(pilot, lambda: app.focused is shows[0])
        for i in (1, 2, 3):
            await pilot.press("down")
            assert app.focused is shows[i]
        await pilot.pause()
        # The focused show was scrolled into view.
        assert scroll.scroll_y > 0
        await pilot.press("up")
        assert app.focused is shows[2]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ShowsScreen))
        assert app.purchase is not None and app.purchase.event.id == \
            next(e for e in app.events_cache if e.status == "on_sale"
                 and str(shows[2].label).startswith(e.name)).id


async def test_decline_in_portuguese_focus_back_on_the_cards(make_app: Any,
                                                             kctx: Any) -> None:
    app = make_app(age_gate=False, lang="pt-BR")
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot, "COMEDIA-HOJE", 1)
        hold_id = app.purchase.hold.hold_id
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        labels = [str(b.label) for b in app.screen.query(".card")]
        assert labels[0] == "Visa (aprovado)  •••• 4242"
        assert labels[1].startswith("Mastercard (aprovado)")
        assert labels[2].startswith("Cartão recusado")
        assert labels[3].startswith("Saldo insuficiente")
        assert labels[4].startswith("Cartão vencido")
        assert not any(w in " ".join(labels) for w in ("approved", "Declined", "Expired"))
        await tap(pilot, "#card-2")  # declined
        status = app.screen.query_one("#status")
        await wait_for(pilot, lambda: "Tente outro cartão" in str(status.render()))
        text = str(status.render())
        assert text == "✖ O cartão foi recusado. Tente outro cartão ou cancele."
        assert ".." not in text
        # Focus is back on the card that was refused: the arrows move among the cards
        # and never reach Cancel by surprise.
        await wait_for(pilot, lambda: app.focused is not None)
        assert app.focused.id == "card-2"
        await pilot.press("down")
        assert app.focused.id == "card-3"
        await pilot.press("up", "up")
        assert app.focused.id == "card-1"
        assert app.purchase is not None and app.purchase.hold.hold_id == hold_id
        await pilot.press("enter")  # Mastercard (approved)
        await shown(pilot, ThanksScreen)


async def test_declined_in_spanish_says_it_once(make_app: Any) -> None:
    app = make_app(age_gate=False, lang="es")
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot, "COMEDIA-HOJE", 1)
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        assert str(app.screen.query_one("#card-3").label).startswith("Fondos insuficientes")
        await tap(pilot, "#card-3")
        status = app.screen.query_one("#status")
        await wait_for(pilot, lambda: "Pruebe otra tarjeta" in str(status.render()))
        assert str(status.render()) == ("✖ La tarjeta fue rechazada: fondos insuficientes."
                                        " Pruebe otra tarjeta o cancele.")
        await tap(pilot, "#cancel")
        await app.workers.wait_for_complete()


@pytest.mark.parametrize(("lang", "words", "foreign"), [
    ("es", (b"Fecha", b"Precio", b"Serie", b"Pedido", b"Tarjeta"), (b"Date", b"Price")),
    ("pt-BR", (b"Data", b"Pre", b"rie", b"Pedido"), (b"Date", b"Fecha")),
])
async def test_tickets_print_in_the_language_the_customer_chose(
        make_app: Any, printer: Any, lang: str, words: tuple[bytes, ...],
        foreign: tuple[bytes, ...]) -> None:
    app = make_app(age_gate=False)  # the kiosk starts in English
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await tap(pilot, f"#lang-{lang}")
        before = printer.count
        await to_summary(pilot, "COMEDIA-HOJE", 1)
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        await tap(pilot, "#card-0")
        await shown(pilot, ThanksScreen)
        await wait_for(pilot, lambda: printer.count >= before + 2)  # ticket + receipt
        data = b"".join(printer.jobs[before:])
        for w in words:
            assert w in data, w
        for w in foreign:
            assert w not in data, w
