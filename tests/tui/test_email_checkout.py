"""The cashier types the customer's email, ticks their consent and picks their language in
the cash (or card) dialog; after the worker runs, a real SMTP server on loopback has the
confirmation with the tickets' QR codes in that language, and no log record of the
terminal (or the worker) carries the address. A bad address or a missing consent stops
the sale with the catalogue's words; an empty field stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Checkbox, Input, Select

from boxoffice_tui.screens.checkout import CardScreen, CashScreen
from core.errors import BoxOfficeError
from core.tickets import GateChecker
from tests.outbox.mailbox import all_logs, deliver, mail_server, qr_tokens, worker_context
from tests.tui.conftest import open_event, rows, sign_in, wait_for

pytestmark = [pytest.mark.db, pytest.mark.anyio]
SIZE = (100, 30)


@pytest.fixture(scope="module")
def smtp() -> Iterator[Any]:
    with mail_server() as s:
        yield s


@pytest.fixture(scope="module")
def wctx(terminal_logins: Any, tctx: Any, smtp: Any) -> Any:
    return worker_context(terminal_logins, tctx.settings, smtp[1], "tui-mail-worker")


async def _cash_dialog(pilot: Any, code: str, n: int) -> tuple[Any, CashScreen]:
    app = pilot.app
    screen = await open_event(pilot, code)
    await pilot.press(str(n))
    await wait_for(pilot, lambda: screen.hold is not None, timeout=30)
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
    return screen, app.screen


async def _email(pilot: Any, dialog: Any, address: str, consent: bool) -> None:
    """Click the email field and type; tick the consent."""
    await pilot.click("#email")
    await pilot.press(*address)
    assert dialog.query_one("#email", Input).value == address
    if consent:
        await pilot.click("#consent")
        assert dialog.query_one("#consent", Checkbox).value


def _error(dialog: Any, selector: str = "#cash-error") -> str:
    return str(dialog.query_one(selector).render())


async def test_cash_sale_with_email_reaches_the_customer(
        make_app: Any, ctx: Any, tctx: Any, terminal_logins: Any, smtp: Any,
        wctx: Any) -> None:
    handler, _ = smtp
    local = f"c{uuid.uuid4().hex[:6]}"
    address = f"{local}@example.com"
    before = len(handler.messages)
    app = make_app()
    with all_logs() as logs:
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            sale, dialog = await _cash_dialog(pilot, "COMEDIA-HOJE", 2)
            await pilot.press("equals_sign")
            # An address without the customer's consent: refused, nothing sold.
            await _email(pilot, dialog, address, consent=False)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "agree" in _error(dialog))
            assert BoxOfficeError("consent_required").message("en") in _error(dialog)
            assert app.screen is dialog and sale.last_sale is None
            await pilot.click("#consent")
            # English -> Español (the customer's language, not the counter's): Enter in
            # the open list picks the language and does not complete the sale.
            dialog.query_one("#email-lang", Select).focus()
            await pilot.press("space", "down", "enter")
            assert app.screen is dialog and sale.last_sale is None
            assert dialog.query_one("#email-lang", Select).value == "es"
            await pilot.press("enter")
            await wait_for(pilot, lambda: sale.last_sale is not None and app.screen is sale,
                           timeout=30)
            order_id = sale.last_sale.order_id
        got = rows(ctx, "select email, language, consent_text from order_contacts"
                   " where order_id = :o", o=order_id)
        assert [tuple(r) for r in got] == [(address, "es", "eticket-email-v1")]
        deliver(wctx)
        handler.wait_for(before + 1)
    mine = [m for m in handler.messages if m["To"] == address]
    assert len(mine) == 1 and mine[0]["Content-Language"] == "es"
    tokens = sorted(r.token for r in rows(ctx, "select token from tickets where order_id = :o",
                                          o=order_id))
    assert len(tokens) == 2 and qr_tokens(mine[0]) == tokens
    # The gate (on its own login) lets the customer in with the emailed codes.
    gctx = terminal_logins.context("tui-mail-gate", "gate", tctx.settings)
    gate = GateChecker(gctx, terminal_logins.actor("tui-mail-gate", "gate"), "A",
                       opens_before=timedelta(hours=12))
    assert all(gate.scan(tok, uuid.uuid4()).accepted for tok in qr_tokens(mine[0]))
    # Not in any log record (terminal, core, worker), nor in the audit trail or the event
    # the casino's systems get.
    assert not [r for r in logs.records if local in r]
    assert not rows(ctx, "select 1 from audit_log where payload like :a",
                    a=f"%{local}%")
    assert not rows(ctx, "select 1 from outbox where payload::text like :a", a=f"%{local}%")


async def test_bad_address_stops_the_sale_and_an_empty_field_stores_nothing(
        make_app: Any, ctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        sale, dialog = await _cash_dialog(pilot, "COMEDIA-HOJE", 1)
        await pilot.press("equals_sign")
        await _email(pilot, dialog, "ana@", consent=True)
        await pilot.press("enter")
        await wait_for(pilot, lambda: _error(dialog) not in ("", "…"))
        assert BoxOfficeError("invalid_email").message("en") in _error(dialog)
        assert sale.last_sale is None
        dialog.query_one("#email", Input).value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: sale.last_sale is not None and app.screen is sale,
                       timeout=30)
        order_id = sale.last_sale.order_id
    assert rows(ctx, "select 1 from order_contacts where order_id = :o", o=order_id) == []
    assert rows(ctx, "select 1 from outbox where channel = 'email'"
                " and payload->>'order_id' = :o", o=str(order_id)) == []


async def test_card_sale_with_email(make_app: Any, ctx: Any, smtp: Any, wctx: Any) -> None:
    handler, _ = smtp
    address = f"d{uuid.uuid4().hex[:6]}@example.com"
    before = len(handler.messages)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        sale = await open_event(pilot, "COMEDIA-HOJE")
        await pilot.press("1")
        await wait_for(pilot, lambda: sale.hold is not None, timeout=30)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        dialog = app.screen
        await _email(pilot, dialog, address, consent=True)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.state == "approved", timeout=20)
        order_id = dialog.outcome.order_id
        await pilot.press("enter")
    got = rows(ctx, "select email, language from order_contacts where order_id = :o",
               o=order_id)
    assert [tuple(r) for r in got] == [(address, "en")]
    deliver(wctx)
    handler.wait_for(before + 1)
    mine = [m for m in handler.messages if m["To"] == address]
    assert len(mine) == 1 and mine[0]["Content-Language"] == "en"
    assert len(qr_tokens(mine[0])) == 1
