"""A customer gives an email at the kiosk on the on-screen keyboard (taps, and the arrow
keys and Enter), agrees, pays by card: after the worker runs, a real SMTP server on
loopback has the confirmation with the tickets' QR codes in the kiosk's language, and no
log record carries the address. Skipping stores nothing; a bad address or a missing
consent is refused with the catalogue's words."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Checkbox

from boxoffice_tui.widgets.onscreen_keyboard import OnscreenKeyboard, key_id
from core.errors import BoxOfficeError
from kiosk.screens.checkout import PaymentScreen, ThanksScreen
from kiosk.screens.email import EmailDialog
from tests.kiosk.conftest import rows, wait_for
from tests.kiosk.helpers import SIZE, shown, tap, to_summary
from tests.outbox.mailbox import (
    all_logs,
    deliver,
    mail_server,
    mails_to,
    qr_tokens,
    worker_context,
)

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture(scope="module")
def smtp() -> Iterator[Any]:
    with mail_server() as s:
        yield s


@pytest.fixture(scope="module")
def wctx(terminal_logins: Any, kctx: Any, smtp: Any) -> Any:
    return worker_context(terminal_logins, kctx.settings, smtp[1], "kiosk-mail-worker")


async def _to_email(pilot: Any) -> EmailDialog:
    await to_summary(pilot, "SINATRA", 2)
    await tap(pilot, "#pay")
    await shown(pilot, PaymentScreen)
    await tap(pilot, "#email")
    return await shown(pilot, EmailDialog)


async def _type(pilot: Any, text: str) -> None:
    """Tap each key of ``text`` on the on-screen keyboard (``.com`` is one key)."""
    while text:
        key = ".com" if text.startswith(".com") else text[0]
        await tap(pilot, f"#{key_id(key)}")
        text = text[len(key):]


async def _pay(pilot: Any) -> Any:
    app = pilot.app
    await tap(pilot, "#card-0")  # Visa (approved)
    await shown(pilot, ThanksScreen)
    return app.purchase.sale


async def test_email_on_the_onscreen_keyboard_reaches_the_customer(
        make_app: Any, ctx: Any, smtp: Any, wctx: Any) -> None:
    handler, _ = smtp
    local = f"k{uuid.uuid4().hex[:6]}"
    address = f"{local}@example.com"
    app = make_app(lang="es")
    before = len(handler.messages)
    with all_logs() as logs:
        async with app.run_test(size=SIZE) as pilot:
            dialog = await _to_email(pilot)
            assert dialog.query_one(OnscreenKeyboard)
            # Arrows and Enter reach the keys: from 'a' down is 'z', up is 'a' again.
            assert app.focused.id == key_id("a")
            await pilot.press("down")
            assert app.focused.id == key_id("z")
            await pilot.press("up", "right")
            assert app.focused.id == key_id("s")
            await pilot.press("left", "enter")  # types the 'a' ...
            await tap(pilot, f"#{key_id('backspace')}")  # ... and takes it back
            assert dialog.value == ""
            await _type(pilot, f"{local}@example.com")
            assert dialog.value == address
            await tap(pilot, f"#{key_id('ok')}")  # no consent yet: refused, in Spanish
            msg = str(dialog.query_one("#email-msg").render())
            assert BoxOfficeError("consent_required").message("es") in msg
            await tap(pilot, "#email-consent")
            assert dialog.query_one("#email-consent", Checkbox).value
            await tap(pilot, f"#{key_id('ok')}")
            pay = await shown(pilot, PaymentScreen)
            assert pay.contact is not None and pay.contact.language == "es"
            label = str(pay.query_one("#email").label)
            assert "k•••@example.com" in label and address not in label
            sale = await _pay(pilot)
        order_id = sale.order.order_id
        got = rows(ctx, "select email, language, consent_text from order_contacts"
                   " where order_id = :o", o=order_id)
        assert [tuple(r) for r in got] == [(address, "es", "eticket-email-v1")]
        deliver(wctx)
        mails = handler.wait_for(before + 1)
    mine = [m for m in mails if m["To"] == address]
    assert len(mine) == 1
    assert mine[0]["Content-Language"] == "es"
    tokens = sorted(r.token for r in rows(ctx, "select token from tickets where order_id = :o",
                                          o=order_id))
    assert len(tokens) == 2 and qr_tokens(mine[0]) == tokens
    assert not [r for r in logs.records if address in r or local in r]


async def test_a_bad_address_is_refused_and_skip_stores_nothing(
        make_app: Any, ctx: Any, smtp: Any, wctx: Any) -> None:
    handler, _ = smtp
    app = make_app(lang="pt-BR")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _to_email(pilot)
        await _type(pilot, "ana@")
        await tap(pilot, "#email-consent")
        await tap(pilot, f"#{key_id('ok')}")
        msg = str(dialog.query_one("#email-msg").render())
        assert BoxOfficeError("invalid_email").message("pt-BR") in msg
        assert isinstance(app.screen, EmailDialog)
        await tap(pilot, f"#{key_id('skip')}")
        pay = await shown(pilot, PaymentScreen)
        assert pay.contact is None
        sale = await _pay(pilot)
    order_id = sale.order.order_id
    assert rows(ctx, "select 1 from order_contacts where order_id = :o", o=order_id) == []
    assert rows(ctx, "select 1 from outbox where channel = 'email'"
                " and payload->>'order_id' = :o", o=str(order_id)) == []
    # The broker still hears of the sale.
    assert rows(ctx, "select 1 from outbox where channel = 'broker' and topic ="
                " 'sale.completed' and payload->>'order_id' = :o", o=str(order_id))
    before = len(handler.messages)
    deliver(wctx)
    assert not mails_to(handler, "ana@") and len(handler.messages) == before


async def test_the_dialog_keeps_to_the_screen(make_app: Any) -> None:
    """At 80x24 the keys are one line high and every one is on screen; at 120x40 they
    are three lines high (touch targets)."""
    for size, height in (((80, 24), 1), ((120, 40), 3)):
        app = make_app(lang="en")
        async with app.run_test(size=size) as pilot:
            dialog = await _to_email(pilot)
            await wait_for(pilot, lambda d=dialog: d.query_one(f"#{key_id('ok')}").region.area)
            for key in dialog.query(OnscreenKeyboard).first().children:
                r = key.region
                assert r.height == height, (size, key.id, r)
                assert r.right <= size[0] and r.bottom <= size[1], (size, key.id, r)
            await tap(pilot, f"#{key_id('skip')}")
            await shown(pilot, PaymentScreen)


@pytest.mark.parametrize("contrast", [False, True], ids=["normal", "contrast"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_email_dialog_snapshot(snap_compare: Any, make_app: Any, size: tuple[int, int],
                               contrast: bool) -> None:
    """The dialog over a blank screen (nothing behind it moves with the date), an address
    half typed and the consent ticked, in Portuguese."""
    from textual.screen import Screen

    app = make_app(lang="pt-BR")

    async def run_before(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.started)
        app.set_high_contrast(contrast)
        await app.push_screen(Screen())
        await app.push_screen(EmailDialog())
        await shown(pilot, EmailDialog)
        await _type(pilot, "ana@casino.com")
        await tap(pilot, "#email-consent")
        app.screen.focus_id(f"#{key_id('ok')}")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_arrows_follow_the_keys_as_drawn() -> None:
    """↑/↓ go to the key drawn above or below (the wide keys of the last row included),
    ←/→ along the reading order, and out of the keyboard at its edges."""
    from textual.app import App, ComposeResult
    from textual.widgets import Button

    pressed: list[str] = []

    class One(App):
        def compose(self) -> ComposeResult:
            yield Button("before", id="before")
            yield OnscreenKeyboard()
            yield Button("after", id="after")

        def on_onscreen_keyboard_pressed(self, event: OnscreenKeyboard.Pressed) -> None:
            pressed.append(event.key)

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(f"#{key_id('c')}").focus()
        moves = [("down", ".com"), ("right", "backspace"), ("up", "v"), ("down", "backspace"),
                 ("right", "skip"), ("right", "ok"), ("up", "."), ("down", "ok")]
        for key, expected in moves:
            await pilot.press(key)
            assert app.focused.id == key_id(expected), (key, expected, app.focused.id)
        await pilot.press("down")
        assert app.focused.id == "after"
        app.query_one(f"#{key_id('5')}").focus()
        await pilot.press("up")
        assert app.focused.id == "before"
        app.query_one(f"#{key_id('@')}").focus()
        await pilot.press("enter")
        await pilot.click(f"#{key_id('.com')}")
        await pilot.pause()
        assert pressed == ["@", ".com"]


async def test_a_key_tapped_twice_quickly_types_twice(make_app: Any) -> None:
    """Two taps on the same key inside a Button's 0.2 s press effect both count."""
    app = make_app(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _to_email(pilot)
        await pilot.click(f"#{key_id('0')}")
        await pilot.click(f"#{key_id('0')}")
        await pilot.click(f"#{key_id('0')}")
        await pilot.pause()
        assert dialog.value == "000"
