"""The kiosk with a real gateway (issue 11 item 6): the simulated reader's test-card
buttons exist only with the sandbox. The module's kiosk is configured
``gateway.kind = "stripe"`` against a loopback HTTP server that counts the requests it
gets: with no card reader installed the card button is off and says why, and nothing
reaches the server; with a reader the customer presents the card on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.widgets import Button

from core.payments import SANDBOX_KEY, build_gateway
from core.payments.card_reader import CardPresentation
from kiosk.app import KioskApp
from kiosk.screens.checkout import PaymentScreen, ThanksScreen
from terminal.kiosk import KioskSession
from tests.gateway_recorder import Recorder
from tests.kiosk.conftest import TERMINAL, LoopbackPrinter, scalar, wait_for
from tests.kiosk.helpers import SIZE, shown, tap, to_summary
from tests.terminal_fixtures import build_session, context_on

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path, printer: LoopbackPrinter,
                       recorder: Recorder) -> dict[str, Any]:
    return {"terminal__name": TERMINAL, "terminal__kind": "kiosk",
            "printer__url": printer.url, "printer__timeout_s": 1.0,
            "printer__retry_initial_s": 0.05, "printer__retry_max_s": 0.2,
            "holds__kiosk_ttl_s": 240, "kiosk__print_wait_s": 5.0,
            "logging__file": str(module_tmp / "kiosk.jsonl"),
            "gateway__kind": "stripe", "gateway__base_url": recorder.url,
            "gateway__secret_key": "sk_live_not_a_real_key"}


class FakeReader:
    def __init__(self) -> None:
        self.asked: list[tuple[int, str]] = []

    def present(self, amount_minor: int, currency: str) -> CardPresentation:
        self.asked.append((amount_minor, currency))
        return CardPresentation("pm_card_mastercard", "mastercard", "4444")


async def test_no_reader_keeps_the_kiosk_out_of_service_before_any_seat_is_held(
        make_app: Any, kctx: Any, recorder: Recorder) -> None:
    """A real gateway and no reader: the kiosk cannot take a card, its only tender, so it
    is out of service (card the reason) before a customer picks seats."""
    from kiosk.screens.service import OutOfServiceScreen

    app = make_app()
    sales_before = scalar(kctx, "select count(*) from sales")
    holds_before = scalar(kctx, "select count(*) from holds")
    async with app.run_test(size=SIZE) as pilot:
        await shown(pilot, OutOfServiceScreen)
        assert "card payments" in str(app.screen.query_one("#reasons").render())
        assert app.terminal_state()["out_of_service"] == ["card"]
    assert scalar(kctx, "select count(*) from holds") == holds_before
    assert scalar(kctx, "select count(*) from sales") == sales_before
    assert recorder.seen == []


async def test_with_a_reader_the_customer_presents_the_card(
        kctx: Any, spooler: Any, clock: Any, sandbox: Any, recorder: Recorder) -> None:
    """kind = "stripe" pointed at the project's sandbox (it speaks the same API), a
    site's reader plugged in: no test cards, one button, the reader's card is sold."""
    g = kctx.settings.gateway.model_copy(update={"base_url": sandbox.base_url,
                                                 "secret_key": SecretStr(SANDBOX_KEY)})
    settings = kctx.settings.model_copy(update={"gateway": g})
    gw = build_gateway(settings)
    try:
        c = context_on(kctx, settings, gateway=gw)
        c._signer = kctx._signer
        svc = build_session(KioskSession, c, TERMINAL, spooler=spooler)
        reader = FakeReader()
        svc.card_reader = reader  # type: ignore[attr-defined]
        app = KioskApp(svc, clock=clock, language_code="en", heartbeat=False,
                       handle_signals=False)
        async with app.run_test(size=SIZE) as pilot:
            await to_summary(pilot, "SINATRA", 1)
            total = app.purchase.hold.total_minor
            await tap(pilot, "#pay")
            await shown(pilot, PaymentScreen)
            assert not app.screen.query("#card-0")
            assert "card on the reader" in str(app.screen.query_one("#card-reader",
                                                                    Button).label)
            await tap(pilot, "#card-reader")
            await wait_for(pilot, lambda: isinstance(app.screen, ThanksScreen))
            sale = app.purchase.sale
            assert reader.asked == [(total, sale.currency)]
            assert (sale.brand, sale.last4) == ("mastercard", "4444")
            assert scalar(kctx, "select last4 from sales where order_id = :o",
                          o=sale.order.order_id) == "4444"
    finally:
        gw.close()
    assert recorder.seen == []
